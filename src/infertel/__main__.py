from infertel.cli._entry import main

main()
