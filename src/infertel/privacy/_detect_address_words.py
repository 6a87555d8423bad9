"""Street vocabularies for STREET_ADDRESS (plain data, used by ``_detect_address``).

English suffixes follow the USPS list (Publication 28, appendix C1) that address data in
the US and UK uses; the others are each country's common street types. English suffixes
are split in two: words that only name streets, and words that are also ordinary nouns
("Mountains", "Center", "Run", "Court"), which count only next to other evidence of an
address (an address word before it, a unit or a city after it).
"""

from __future__ import annotations

#: English street words that name a street and little else (capitalised as written).
EN_STRONG = (
    "Street", "Streets", "St", "Avenue", "Ave", "Av", "Road", "Roads", "Rd", "Lane", "Ln",
    "Boulevard", "Blvd", "Dr", "Terrace", "Ter", "Parkway", "Parkways", "Pkwy", "Highway",
    "Hwy", "Ct", "Pl", "Sq", "Crescent", "Cres", "Expressway", "Freeway", "Turnpike",
    "Throughway", "Trafficway", "Stravenue", "Causeway", "Motorway", "Skyway", "Mews",
    "Alley", "Cir", "Trl", "Blvd", "Pkwy", "Expy", "Fwy", "Tpke",
)  # fmt: skip
#: English street words that are ordinary nouns too.
EN_GENERIC = (
    "Branch", "Bridge", "Brook", "Brooks", "Burg", "Burgs", "Bypass", "Camp", "Canyon",
    "Cape", "Center", "Centers", "Circle", "Circles", "Cliff", "Cliffs", "Club", "Common",
    "Corner", "Corners", "Course", "Court", "Courts", "Cove", "Coves", "Creek", "Crest",
    "Crossing", "Crossroad", "Curve", "Dale", "Dam", "Divide", "Drive", "Drives", "Estate",
    "Estates", "Extension", "Extensions", "Fall", "Falls", "Ferry", "Field", "Fields", "Flat",
    "Flats", "Ford", "Fords", "Forest", "Forge", "Forges", "Fork", "Forks", "Fort", "Garden",
    "Gardens", "Gateway", "Glen", "Glens", "Green", "Greens", "Grove", "Groves", "Harbor",
    "Harbors", "Haven", "Heights", "Hill", "Hills", "Hollow", "Inlet", "Island", "Islands",
    "Isle", "Junction", "Junctions", "Key", "Keys", "Knoll", "Knolls", "Lake", "Lakes", "Land",
    "Landing", "Light", "Lights", "Loaf", "Lock", "Locks", "Lodge", "Loop", "Mall", "Manor",
    "Manors", "Meadow", "Meadows", "Mill", "Mills", "Mission", "Mount", "Mountain",
    "Mountains", "Neck", "Orchard", "Oval", "Overpass", "Park", "Parks", "Pass", "Passage",
    "Path", "Pike", "Pine", "Pines", "Place", "Plain", "Plains", "Plaza", "Point", "Points",
    "Port", "Ports", "Prairie", "Radial", "Ramp", "Ranch", "Rapid", "Rapids", "Rest", "Ridge",
    "Ridges", "River", "Route", "Row", "Rue", "Run", "Shoal", "Shoals", "Shore", "Shores",
    "Spring", "Springs", "Spur", "Spurs", "Square", "Squares", "Station", "Stream", "Summit",
    "Trace", "Track", "Trail", "Tunnel", "Underpass", "Union", "Unions", "Valley", "Valleys",
    "Via", "Viaduct", "View", "Views", "Village", "Villages", "Ville", "Vista", "Walk",
    "Walks", "Wall", "Way", "Ways", "Well", "Wells", "Close", "Gate", "Rise", "Wharf", "Yard",
)  # fmt: skip
#: French street types, written lower-case after the number ("12, rue de la Paix").
FR_TYPES = (
    "rue", "avenue", "av.", "boulevard", "bd", "allée", "allee", "impasse", "quai",
    "chemin", "cours", "place", "route", "square", "passage", "voie", "sentier", "cité",
    "rond-point", "faubourg", "montée", "promenade",
)  # fmt: skip
#: French types that are also common words: an article must follow ("3 place de l'Étoile").
FR_NEED_ARTICLE = ("place", "route", "cours", "square", "passage", "voie", "promenade")
#: German and Dutch street words after the name, glued ("Hauptstraße") or separate.
DE_NL_SUFFIXES = (
    # German
    "straße", "strasse", "str.", "gasse", "weg", "allee", "platz", "damm", "ufer",
    "chaussee", "steig", "pfad", "markt", "ring",
    # Dutch
    "straat", "laan", "plein", "gracht", "kade", "singel", "dijk", "steeg", "dreef", "hof",
    "pad", "baan", "boulevard",
)  # fmt: skip
#: Spanish and Italian street types, written first ("Calle Mayor 3", "Via Roma 10").
ES_IT_TYPES = (
    # Spanish
    "Calle", "C/", "C.", "Avenida", "Avda.", "Avda", "Av.", "Paseo", "Plaza", "Pza.",
    "Camino", "Carrera", "Carretera", "Ronda", "Rambla", "Glorieta", "Travesía", "Travesia",
    "Urbanización", "Callejón", "Cañada", "Alameda", "Acceso", "Pasaje", "Pasadizo", "Cuesta",
    "Vial", "Vía",
    # Italian
    "Via", "Viale", "Piazza", "Piazzale", "Vicolo", "Lungomare", "Lungotevere", "Contrada",
    "Corso", "Largo", "Strada", "Borgo", "Rotonda", "Stretto", "Incrocio", "Canale",
    "Traversa", "Salita",
)  # fmt: skip
#: Types that are common words as well: rejected when a lower-case word follows the number
#: ("Via Slack 2 times").
ES_IT_AMBIGUOUS = (
    "Via ", "Plaza ", "Camino ", "Corso ", "Largo ", "Strada ", "Borgo ", "Acceso ", "Canale ",
    "Stretto ", "Incrocio ", "Cuesta ", "Vial ", "C. ",
)  # fmt: skip
#: Lower-case street words after a space, whose number is elsewhere ("12 baker street",
#: "12, rue de la Paix", "calle mayor 3").
LOWER_HINTS = ("street", "road", "avenue", "boulevard", "rue", "chemin", "calle")
#: German and Dutch suffixes: a hint only when the number follows ("Römerallee 419"), so
#: "string" or "during" open no window.
SUFFIX_HINTS = (
    "straße", "strasse", "str.", "straat", "weg", "platz", "gasse", "allee", "damm", "ring",
    "laan", "gracht", "plein", "hof", "pad", "baan", "singel", "dreef", "steeg", "dijk",
    "kade", "markt", "ufer", "boulevard",
)  # fmt: skip
#: Words before an address (lower-cased, several languages) that let a generic English
#: street word count ("ship to 12 Hodges Mountains").
ADDRESS_CONTEXT = (
    "address", "addr", "live", "living", "reside", "located", "location", "ship", "deliver",
    "moved", "moving", "move to", "relocat", "stay", "based at",
    "mail to", "send to", "visit", "home", "office", "hq", "headquarter", "billing",
    "postal", "street", "dirección", "direccion", "domicilio", "vive en", "adresse",
    "habite", "domicile", "livraison", "anschrift", "wohn", "liefer", "indirizzo", "abita",
    "residenza", "sede", "adres", "woon", "bezorg",
)  # fmt: skip
#: Units after the house number's street, part of the address ("Apt. 915", "Piso 3").
UNITS = (
    "Apt.", "Apt", "Apartment", "Suite", "Ste.", "Ste", "Unit", "Flat", "Studio", "Floor",
    "Piso", "Puerta", "Planta", "Appartamento", "Piano", "Interno", "Scala", "Etage",
    "Stock", "Wohnung", "bus", "Bus",
)  # fmt: skip
