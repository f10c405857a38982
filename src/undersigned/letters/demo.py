"""The demo letter created by `undersigned serve` in an empty database."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from undersigned.letters.models import Letter, LetterTranslation

DEMO_SLUG = "cancel-the-contracts"

ENGLISH = {
    "title": "Tech workers against ICE contracts",
    "summary": "Workers across the tech industry ask their employers to cancel their contracts with ICE.",
    "addressees": "The chief executives and boards of the companies whose employees sign below.",
    "body": """We are employees, current and former, of the companies that build the software, the clouds
and the data systems that the US government runs on.

Our work is being used by Immigration and Customs Enforcement (ICE) to find, track, detain and deport
our neighbours, our colleagues and our families. The contracts are public: anyone can read what each of
our companies sells to ICE and the rest of the Department of Homeland Security.

We did not build these tools for this purpose, and we refuse to let our work be used for it.

*This is a demonstration letter, created by `undersigned serve`.*""",
    "demands": """1. Cancel every contract with ICE, and do not bid for new ones.
2. Publish every contract with the Department of Homeland Security, with its value and purpose.
3. Protect the employees who speak up, and do not retaliate against any signer.""",
}

SPANISH = {
    "title": "Trabajadores de la tecnología contra los contratos con ICE",
    "summary": "Trabajadores de toda la industria tecnológica piden a sus empresas que cancelen sus contratos con ICE.",
    "addressees": "Los directores ejecutivos y los consejos de administración de las empresas cuyos empleados firman abajo.",
    "body": """Somos empleados, actuales y antiguos, de las empresas que construyen el software, las nubes
y los sistemas de datos con los que funciona el gobierno de Estados Unidos.

El Servicio de Inmigración y Control de Aduanas (ICE) está usando nuestro trabajo para encontrar, vigilar,
detener y deportar a nuestros vecinos, nuestros compañeros y nuestras familias. Los contratos son
públicos: cualquiera puede leer lo que cada una de nuestras empresas vende a ICE y al resto del
Departamento de Seguridad Nacional.

No construimos estas herramientas para esto, y nos negamos a que nuestro trabajo se use así.

*Esta es una carta de demostración, creada por `undersigned serve`.*""",
    "demands": """1. Cancelar todos los contratos con ICE y no presentarse a nuevas licitaciones.
2. Publicar todos los contratos con el Departamento de Seguridad Nacional, con su valor y su propósito.
3. Proteger a los empleados que alzan la voz y no tomar represalias contra ninguna persona firmante.""",
}


@transaction.atomic
def create_demo_letter() -> Letter | None:
    """Create and open the demo letter if there is no letter at all. Returns it, or None."""
    if Letter.objects.exists():
        return None
    letter = Letter.objects.create(slug=DEMO_SLUG, language="en", status=Letter.Status.DRAFT, opens_at=timezone.now(), **ENGLISH)
    LetterTranslation.objects.create(letter=letter, language="es", **SPANISH)
    letter.open()
    return letter
