from undersigned.cli import main

main()
