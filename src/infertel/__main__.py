from infertel.cli import main

main()
