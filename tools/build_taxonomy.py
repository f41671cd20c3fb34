"""Build Kenning's ImageNet -> user tag taxonomy from WordNet (run once, by a developer).

    apt-get install -y wordnet-base
    python tools/build_taxonomy.py            # writes src/kenning/taxonomy/imagenet_tags.json

ImageNet-1k classes are WordNet 3.0 noun synsets. A class gets every tag whose WordNet
node is one of its hypernyms (tabby -> domestic cat -> ... -> animal gives Cat, Pet,
Mammal, Animal), plus the tags written for the class itself (seashore -> Beach, Water).
A tag's score on a photo is the summed probability of its classes, so 120 dog breeds
add up to one confident "Dog". Per-tag thresholds are tuned afterwards on the dev data
by tools/tune_thresholds.py and stored in the same file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

WORDNET = Path("/usr/share/wordnet/data.noun")
TAXONOMY_DIR = Path(__file__).resolve().parents[1] / "src" / "kenning" / "taxonomy"

# WordNet node -> user-facing tags. Every ImageNet class below the node gets them.
NODE_TAGS: dict[str, tuple[str, ...]] = {
    # living things
    "n00015388": ("Animal",), "n01861778": ("Mammal",), "n01503061": ("Bird",),
    "n02512053": ("Fish",), "n01473806": ("Fish",), "n01661091": ("Reptile",),
    "n01627424": ("Amphibian",), "n02159955": ("Insect",), "n01769347": ("Spider",),
    "n01772222": ("Spider",), "n01726692": ("Snake",), "n01674464": ("Lizard",), "n01662784": ("Turtle",),
    "n01696633": ("Crocodile",), "n01639765": ("Frog",), "n01629276": ("Salamander",),
    "n01482330": ("Shark",), "n01495701": ("Ray",), "n01974773": ("Crustacean", "Seafood"),
    "n01976957": ("Crab",), "n01982650": ("Lobster",), "n01940736": ("Mollusk",),
    "n01942177": ("Snail",),
    "n01922303": ("Worm",), "n02084071": ("Dog", "Pet"), "n02121808": ("Cat", "Pet"),
    "n02127808": ("Big cat",), "n02114100": ("Wolf",),
    "n02118333": ("Fox",), "n02131653": ("Bear",), "n02469914": ("Primate",),
    "n02484322": ("Monkey",), "n02470325": ("Ape",), "n02496913": ("Lemur",),
    "n02329401": ("Rodent",), "n02323449": ("Rabbit",), "n02374149": ("Horse",),
    "n02395003": ("Pig",), "n02419796": ("Antelope",),
    "n02503517": ("Elephant",), "n02062430": ("Whale & Dolphin",),
    "n02062017": ("Sea mammal",), "n01874434": ("Marsupial",),

    "n01604330": ("Bird of prey",), "n01816887": ("Parrot",), "n01846331": ("Duck",),
    "n01845132": ("Water bird",), "n01844917": ("Water bird",), "n02000954": ("Wading bird",),
    "n02022684": ("Shorebird",), "n02021795": ("Seabird",), "n01524359": ("Songbird",),
    "n01789386": ("Fowl",), "n02164464": ("Beetle",), "n02274259": ("Butterfly",),
    "n02206270": ("Bee, Wasp & Ant",), "n02226183": ("Grasshopper & Cricket",),
    "n02268148": ("Dragonfly",), "n12992868": ("Mushroom",), "n11675842": ("Plant",),
    "n00017222": ("Plant",), "n13134947": ("Fruit",), "n07707451": ("Vegetable",),

    # food and drink
    "n07555863": ("Food",), "n00021265": ("Food",), "n07557434": ("Dish", "Food"),
    "n07679356": ("Bread", "Food"), "n07609840": ("Dessert", "Food"),
    "n07881800": ("Drink",), "n07884567": ("Alcohol", "Drink"), "n07809096": ("Food",),
    # vehicles and transport
    "n04524313": ("Vehicle",), "n02958343": ("Car", "Vehicle"),
    "n04490091": ("Truck",), "n02924116": ("Bus",), "n04520170": ("Van",),
    "n02834778": ("Bicycle",), "n04530566": ("Boat", "Water"), "n02686568": ("Aircraft",),
    "n03764276": ("Military",), "n04019101": ("Public transport",),
    "n04235291": ("Sled", "Snow"), "n02970849": ("Cart",), "n04128837": ("Sailing",),
    "n04128499": ("Sailing",), "n04552696": ("Military", "Ship"), "n04194289": ("Ship",),
    "n03684823": ("Locomotive", "Train"), "n04468005": ("Train",),
    # clothing and personal items
    "n03051540": ("Clothing",), "n03380867": ("Shoes",), "n03381126": ("Shoes",),
    "n03502509": ("Hat",), "n03497657": ("Hat",), "n02954340": ("Hat",),
    "n04371563": ("Swimwear", "Swimming"), "n02739668": ("Armor",), "n03815615": ("Tie",),
    "n02773037": ("Bag",), "n03059528": ("Clothing",),
    "n04596852": ("Clothing",), "n03057021": ("Coat", "Clothing"), "n04370048": ("Sweater", "Clothing"),
    "n03419014": ("Clothing",), "n04230808": ("Skirt", "Clothing"),
    # home
    "n03405725": ("Furniture",), "n03001627": ("Chair", "Furniture"),
    "n02766320": ("Baby",), "n03528263": ("Appliance",), "n03620052": ("Kitchen",),
    "n03621049": ("Kitchen",), "n03101986": ("Kitchen",),
    "n03133538": ("Tableware",), "n03636248": ("Lamp",), "n04263760": ("Light",),
    "n03046257": ("Clock",), "n04437953": ("Clock & Watch",), "n02876657": ("Bottle",),
    "n02883344": ("Box",),
    "n02933112": ("Furniture",),
    # things and tools
    "n03800933": ("Musical instrument", "Music"),
    "n03915437": ("Drum & Percussion",),

    "n03467517": ("Guitar",), "n03082979": ("Computer", "Electronics"),
    "n03278248": ("Electronics",), "n03916720": ("Computer", "Electronics"),
    "n04401088": ("Phone", "Electronics"), "n04451818": ("Tool",),
    "n03489162": ("Tool",), "n03997484": ("Tool",), "n04565375": ("Weapon",),
    "n03467984": ("Weapon",), "n03414162": ("Sport",), "n04285146": ("Sport",),
    "n02778669": ("Ball", "Sport"), "n03472232": ("Fitness", "Sport"), "n04571292": ("Fitness", "Sport"),
    "n04608567": ("Writing",), "n03623556": ("Knife",),
    "n04004767": ("Printer", "Electronics"), "n03327234": ("Fence",),
    # buildings and places
    "n02913152": ("Building", "Architecture"),
    "n03953416": ("Place of worship", "Architecture"), "n03743902": ("Monument", "Architecture"),
    "n02898711": ("Bridge", "Architecture"), "n04202417": ("Shop",), "n03259505": ("Home",),
    "n04105068": ("Roof", "Architecture"), "n04417809": ("Theater", "Architecture"),
    "n09287968": ("Landscape", "Nature"), "n09366317": ("Mountain", "Landscape"),
    "n00007846": ("Person",),
}

# Tags written for one ImageNet class (scenes and things WordNet files elsewhere).
CLASS_TAGS: dict[str, tuple[str, ...]] = {
    "n09428293": ("Beach", "Water", "Sea", "Coast"),  # seashore
    "n09421951": ("Beach", "Water", "Coast"),  # sandbar
    "n09399592": ("Coast", "Sea", "Water"),  # promontory
    "n09332890": ("Lake", "Water"),  # lakeside
    "n09256479": ("Underwater", "Sea", "Water"),  # coral reef
    "n09193705": ("Mountain", "Snow"),  # alp
    "n09472597": ("Volcano", "Mountain"),  # volcano
    "n09468604": ("Valley",),  # valley
    "n09246464": ("Cliff",),  # cliff
    "n09288635": ("Geyser", "Water"),  # geyser
    "n03160309": ("Dam", "Water"),  # dam
    "n04606251": ("Shipwreck", "Sea"),  # wreck
    "n03216828": ("Harbour", "Boat", "Water"),  # dock
    "n03388043": ("Fountain", "Water"),  # fountain
    "n04592741": ("Aircraft",),  # wedding dress? (n03450230 gown) see below
    "n03450230": ("Dress", "Clothing"),  # gown
    "n10148035": ("Wedding", "Person"),  # groom
    "n09835506": ("Sport", "Baseball", "Person"),  # ballplayer
    "n10565667": ("Underwater", "Diving", "Person"),  # scuba diver
    "n02799071": ("Baseball", "Sport"),  # baseball
    "n02802426": ("Basketball", "Sport"),  # basketball
    "n04254680": ("Football", "Sport"),  # soccer ball
    "n04409515": ("Tennis", "Sport"),  # tennis ball
    "n04540053": ("Volleyball", "Sport"),  # volleyball
    "n03445777": ("Golf", "Sport"),  # golf ball
    "n03134739": ("Sport",),  # croquet ball
    "n04039381": ("Sport",),  # racket
    "n04228054": ("Ski", "Snow", "Sport"),  # ski
    "n04252077": ("Snow",),  # snowmobile
    "n04252225": ("Snow", "Vehicle"),  # snowplow
    "n02860847": ("Snow", "Sport"),  # bobsled? (n02860847 bobsleigh)
    "n03649909": ("Garden",),  # lawn mower
    "n03930313": ("Fence",),  # picket fence
    "n04604644": ("Fence",),  # worm fence
    "n03000134": ("Fence",),  # chainlink fence
    "n04326547": ("Fence", "Wall"),  # stone wall
    "n03891251": ("Park", "Seat"),  # park bench
    "n03788365": (),
    "n07248320": ("Book", "Reading"),  # book jacket
    "n06596364": ("Comic",),  # comic book
    "n03871628": (),  # packet? no: n03871628 packet
    "n04355933": ("Sunglasses",),  # sunglass
    "n04356056": ("Sunglasses",),  # sunglasses
    "n04404412": ("TV", "Electronics"),  # television
    "n03782006": ("Monitor", "Computer", "Electronics"),  # monitor
    "n03832673": ("Computer", "Electronics"),  # notebook
    "n03642806": ("Computer", "Electronics"),  # laptop
    "n03085013": ("Computer", "Electronics"),  # computer keyboard
    "n03793489": ("Computer", "Electronics"),  # mouse
    "n04074963": ("Electronics",),  # remote control
    "n03584254": ("Music", "Electronics"),  # iPod
    "n02979186": ("Music", "Electronics"),  # cassette player
    "n04392985": ("Music", "Electronics"),  # tape player
    "n03691459": ("Music", "Electronics"),  # loudspeaker
    "n03759954": ("Music",),  # microphone
    "n02992529": ("Phone", "Electronics"),  # cellular telephone
    "n03187595": ("Phone", "Electronics"),  # dial telephone
    "n03902125": ("Phone", "Electronics"),  # pay-phone
    "n04264628": ("Computer", "Electronics"),  # space shuttle
    "n04266014": ("Spacecraft",),  # space shuttle? (n04266014 space shuttle)
    "n03773504": ("Rocket",),  # missile
    "n04008634": ("Rocket",),  # projectile
    "n02704792": ("Vehicle", "Car"),  # amphibian vehicle
    "n03444034": ("Vehicle",),  # go-kart
    "n03785016": ("Motorcycle", "Vehicle"),  # moped
    "n03791053": ("Motorcycle", "Vehicle"),  # motor scooter
    "n03792782": ("Bicycle", "Vehicle"),  # mountain bike
    "n02835271": ("Bicycle", "Vehicle"),  # bicycle-built-for-two
    "n04482393": ("Bicycle", "Vehicle"),  # tricycle
    "n04509417": ("Bicycle", "Vehicle"),  # unicycle
    "n03272562": ("Train", "Vehicle"),  # electric locomotive
    "n03393912": ("Train", "Vehicle"),  # freight car
    "n03895866": ("Train", "Vehicle"),  # passenger car
    "n04310018": ("Train", "Vehicle"),  # steam locomotive
    "n03272010": ("Guitar", "Music"),  # electric guitar? no: n03272010 is electric guitar
    "n04335435": ("Tram", "Vehicle"),  # streetcar
    "n03662601": ("Boat", "Water"),  # lifeboat
    "n02687172": ("Ship", "Military", "Water"),  # aircraft carrier (a ship, not an aircraft)
    "n02690373": ("Aircraft",),  # airliner
    "n04552348": ("Aircraft",),  # warplane
    "n02692877": ("Aircraft",),  # airship
    "n02782093": ("Balloon",),  # balloon
    "n03355925": ("Flag",),  # flagpole
    "n03888257": ("Parachute", "Sport"),  # parachute
    "n03976657": (),
    "n06794110": ("Sign",),  # street sign
    "n06874185": ("Traffic light",),  # traffic light
    "n03891332": ("Car",),  # parking meter
    "n04462240": ("Toy",),  # toyshop
    "n03637318": ("Lamp",),  # lampshade
    "n04548362": (),
    "n03476991": (),  # hair spray
    "n04523525": ("Architecture",),  # vault
    "n03877845": ("Palace", "Architecture"),  # palace
    "n02980441": ("Castle", "Building", "Architecture"),  # castle
    "n04458633": ("Totem pole", "Monument"),  # totem pole
    "n03028079": ("Church", "Place of worship", "Architecture"),  # church
    "n03781244": ("Place of worship", "Architecture"),  # monastery
    "n03788195": ("Mosque", "Place of worship", "Architecture"),  # mosque
    "n04346328": ("Temple", "Place of worship", "Architecture"),  # stupa
    "n03837869": ("Obelisk", "Monument", "Architecture"),  # obelisk
    "n04486054": ("Arch", "Monument", "Architecture"),  # triumphal arch
    # cliff dwelling: Mesa Verde, Petra's rock-cut facades; only "Home" through WordNet,
    # which does not reach the landmark stage
    "n03042490": ("Monument", "Architecture"),
    "n03220513": ("Dome", "Architecture"),  # dome
    "n03630383": ("Clothing",),
    "n04005630": ("Prison",),
    "n02793495": ("Barn", "Farm"),  # barn
    "n02814860": ("Lighthouse", "Coast", "Architecture"),  # beacon
    "n03047690": ("Shoes",),
    "n03776460": ("Mobile home", "Home"),
    "n03899768": ("Patio", "Home"),  # patio
    "n04417672": ("Roof", "Home"),  # thatch
    "n04435653": ("Roof", "Home"),  # tile roof
    "n02859443": ("Boathouse", "Water"),
    "n03457902": ("Greenhouse", "Garden"),
    "n03314780": (),
    "n04209239": ("Shower", "Bathroom"),  # shower curtain
    "n04553703": ("Bathroom",),  # washbasin
    "n04447861": ("Bathroom",),  # toilet seat
    "n02808440": ("Bathroom",),  # bathtub
    "n04493381": ("Bathroom",),  # tub
    "n03201208": ("Table", "Furniture"),  # dining table
    "n03179701": ("Desk", "Furniture"),  # desk
    "n04344873": ("Sofa", "Furniture"),  # studio couch
    "n02804414": ("Bed", "Baby", "Furniture"),  # bassinet
    "n03125729": ("Bed", "Baby", "Furniture"),  # cradle
    "n03131574": ("Bed", "Baby", "Furniture"),  # crib
    "n03388549": ("Bed", "Furniture"),  # four-poster
    "n02869837": ("Hat", "Clothing"),  # bonnet? no n02869837 bonnet
    "n02870880": ("Book", "Reading"),  # bookcase
    "n04118538": ("Rugby", "Sport"),  # rugby ball
    "n04090263": ("Weapon",),  # rifle
    "n04086273": ("Weapon",),  # revolver
    "n02749479": ("Weapon",),  # assault rifle
    "n03124170": ("Hat",),
    "n03877472": ("Pyjamas", "Clothing"),  # pajama
    "n03594734": ("Jeans", "Clothing"),  # jean
    "n04350905": ("Suit", "Clothing"),  # suit
    "n03763968": ("Military", "Clothing"),  # military uniform
    "n02883205": ("Tie", "Clothing"),  # bow tie
    "n04584207": (),
    "n03598930": ("Puzzle", "Toy"),  # jigsaw puzzle
    "n03476684": (),  # hair slide
    "n03314780b": (),
    "n04487081": ("Bus", "Vehicle", "Public transport"),  # trolleybus
    "n03769881": ("Bus", "Vehicle"),  # minibus
    "n04146614": ("Bus", "Vehicle"),  # school bus
    "n02701002": ("Ambulance", "Vehicle", "Car"),  # ambulance
    "n03977966": ("Police", "Car", "Vehicle"),  # police van
    "n03345487": ("Fire engine", "Vehicle"),  # fire engine
    "n04465501": ("Tractor", "Farm", "Vehicle"),  # tractor
    "n03496892": ("Farm", "Vehicle"),  # harvester
    "n04461696": ("Truck", "Vehicle"),  # tow truck
    "n03417042": ("Truck", "Vehicle"),  # garbage truck
    "n03796401": ("Truck", "Vehicle"),  # moving van
    "n04467665": ("Truck", "Vehicle"),  # trailer truck
    "n03930630": ("Truck", "Vehicle"),  # pickup
    "n04285008": ("Car", "Vehicle"),  # sports car
    "n04037443": ("Car", "Vehicle"),  # racer
    "n02814533": ("Car", "Vehicle"),  # beach wagon
    "n02930766": ("Car", "Vehicle"),  # cab
    "n03100240": ("Car", "Vehicle"),  # convertible
    "n03594945": ("Car", "Vehicle"),  # jeep
    "n03670208": ("Car", "Vehicle"),  # limousine
    "n03770679": ("Car", "Vehicle"),  # minivan
    "n03777568": ("Car", "Vehicle"),  # Model T
    "n04389033": ("Tank", "Military", "Vehicle"),  # tank
    "n02835271b": (),
    "n03947888": ("Ship", "Water"),  # pirate
    "n02951358": ("Canoe", "Boat", "Water"),  # canoe
    "n04273569": ("Boat", "Water"),  # speedboat
    "n03673027": ("Ship", "Water"),  # liner
    "n03095699": ("Ship", "Water"),  # container ship
    "n03344393": ("Boat", "Water"),  # fireboat
    "n03447447": ("Boat", "Water"),  # gondola
    "n02981792": ("Boat", "Water"),  # catamaran
    "n03873416": ("Boat", "Water"),  # paddle
    "n04147183": ("Sailing", "Boat", "Water"),  # schooner
    "n04483307": ("Sailing", "Boat", "Water"),  # trimaran
    "n03662601b": (),
    "n07615774": ("Ice cream", "Dessert", "Food"),  # ice lolly
    "n07614500": ("Ice cream", "Dessert", "Food"),  # ice cream
    "n07873807": ("Pizza", "Food"),  # pizza
    "n07697313": ("Burger", "Food"),  # cheeseburger
    "n07697537": ("Hot dog", "Food"),  # hotdog
    "n07711569": ("Food",),  # mashed potato
    "n07753592": ("Banana", "Fruit", "Food"),
    "n07742313": ("Apple", "Fruit", "Food"),  # Granny Smith
    "n07747607": ("Orange", "Fruit", "Food"),
    "n07749582": ("Lemon", "Fruit", "Food"),
    "n07753275": ("Pineapple", "Fruit", "Food"),
    "n07745940": ("Strawberry", "Fruit", "Food"),
    "n07760859": ("Fruit", "Food"),  # custard apple
    "n07768694": ("Fruit", "Food"),  # pomegranate
    "n07754684": ("Fruit", "Food"),  # jackfruit
    "n07753113": ("Fruit", "Food"),  # fig
    "n07720875": ("Vegetable", "Food"),  # bell pepper
    "n07718747": ("Vegetable", "Food"),  # artichoke
    "n07714571": ("Vegetable", "Food"),  # head cabbage
    "n07714990": ("Vegetable", "Food"),  # broccoli
    "n07715103": ("Vegetable", "Food"),  # cauliflower
    "n07716358": ("Vegetable", "Food"),  # zucchini
    "n07716906": ("Vegetable", "Food"),  # spaghetti squash
    "n07717410": ("Vegetable", "Food"),  # acorn squash
    "n07717556": ("Vegetable", "Food"),  # butternut squash
    "n07718472": ("Vegetable", "Food"),  # cucumber
    "n07730033": ("Vegetable", "Food"),  # cardoon? keep
    "n07734744": ("Mushroom",),  # mushroom
    "n07831146": ("Food",),  # carbonara
    "n07836838": ("Food",),  # chocolate sauce
    "n07860988": ("Food",),  # dough
    "n07871810": ("Food",),  # meat loaf
    "n07875152": ("Food",),  # potpie
    "n07880968": ("Food",),  # burrito
    "n07892512": ("Wine", "Alcohol", "Drink"),  # red wine
    "n07920052": ("Coffee", "Drink"),  # espresso
    "n07930864": ("Coffee", "Drink"),  # cup
    "n07932039": ("Drink",),  # eggnog
    "n03063599": ("Coffee", "Drink"),  # coffee mug
    "n03063689": ("Coffee", "Drink"),  # coffeepot
    "n03297495": ("Coffee", "Drink"),  # espresso maker
    "n02823750": ("Beer", "Alcohol", "Drink"),  # beer glass
    "n02823428": ("Beer", "Alcohol", "Drink"),  # beer bottle
    "n04591713": ("Wine", "Alcohol", "Drink"),  # wine bottle
    "n07684084": ("Bread", "Food"),  # French loaf
    "n07693725": ("Bread", "Food"),  # bagel
    "n07695742": ("Bread", "Food"),  # pretzel
    "n07579787": ("Food",),  # plate
    "n07583066": ("Food",),  # guacamole
    "n07584110": ("Food",),  # consomme
    "n07590611": ("Food",),  # hot pot
    "n07613480": ("Dessert", "Food"),  # trifle
    "n07565083": ("Food", "Restaurant"),  # menu
    "n04596742": ("Cooking", "Kitchen"),  # wok
    "n03400231": ("Cooking", "Kitchen"),  # frying pan
    "n04332243": ("Kitchen",),  # strainer
    "n04442312": ("Kitchen",),  # toaster
    "n04070727": ("Kitchen", "Appliance"),  # refrigerator
    "n03761084": ("Kitchen", "Appliance"),  # microwave
    "n04111531": ("Kitchen", "Appliance"),  # rotisserie
    "n03259280": ("Kitchen",),  # Dutch oven
    "n04254120": ("Kitchen",),  # soap dispenser
    "n09229709": ("Bubble",),  # bubble
    "n15075141": ("Bathroom",),  # toilet tissue
    "n03598930b": (),
    "n03825788": ("Baby",),  # nipple
    "n04404412b": (),
    "n02786058": (),
    "n03127747": ("Helmet", "Sport"),  # crash helmet
    "n03379051": ("Helmet", "Sport", "Football"),  # football helmet
    "n04141076": ("Saxophone", "Music"),  # sax
    "n03372029": ("Flute", "Music"),  # flute
    "n04536866": ("Violin", "Music"),  # violin
    "n03452741": ("Piano", "Music"),  # grand piano
    "n04515003": ("Piano", "Music"),  # upright
    "n02676566": ("Guitar", "Music"),  # acoustic guitar
    "n03272010b": (),
    "n03250847": ("Drum & Percussion", "Music"),  # drumstick
    "n03249569": ("Drum & Percussion", "Music"),  # drum
    "n04311004": ("Bridge", "Architecture"),
    "n02787622": ("Music",),
    "n03447721": ("Music",),
    "n03838899": ("Music",),
    "n03854065": ("Organ", "Music"),
    "n03494278": ("Music",),
    "n02672831": ("Accordion", "Music"),
    "n03017168": ("Music",),
    "n02804610": ("Music",),
    "n03110669": ("Music",),
    "n03394916": ("Music",),
    "n04487394": ("Music",),
    "n02992211": ("Cello", "Music"),
    "n03495258": ("Harp", "Music"),
    "n03721384": ("Music",),
    "n03884397": ("Music",),
    "n03179701b": (),
    "n03000247": ("Armor",),
    "n04372370": (),
    "n03666591": ("Lighter",),
    "n04380533": ("Lamp",),  # table lamp
    "n03729826": (),  # matchstick? no n03729826 matchstick
    "n04456115": ("Torch",),
    "n02948072": ("Candle",),
    "n03590841": ("Jack-o'-lantern", "Halloween"),
    "n03476684b": (),
    "n02730930": ("Apron", "Clothing"),
    "n04584207b": (),
    "n03325584": ("Clothing",),
    "n02963159": ("Sweater", "Clothing"),
    "n03980874": ("Clothing",),
    "n03617480": ("Kimono", "Clothing"),
    "n02669723": ("Graduation", "Clothing"),
    "n03404251": ("Coat", "Clothing"),
    "n03866082": ("Clothing",),
    "n04599235": (),
    "n03710637": ("Swimwear", "Swimming", "Clothing"),  # maillot
    "n03710721": ("Swimwear", "Swimming", "Clothing"),  # maillot tank suit
    "n02837789": ("Swimwear", "Swimming", "Clothing"),  # bikini
    "n04209133": (),
    "n03124043": ("Shoes",),
    "n04133789": ("Shoes",),
    "n03680355": ("Shoes",),
    "n04120489": ("Shoes", "Sport"),
    "n03775071": ("Clothing",),
    "n04325704": ("Clothing",),
    "n02817516": ("Hat",),
    "n03814639": (),
    "n04592741b": (),
    "n03534580": ("Clothing",),
    "n03026506": ("Christmas",),
    "n03532672": (),
    "n02892767": ("Bra", "Clothing"),
    "n03188531": ("Diaper", "Baby"),
    "n02776631": ("Shop", "Bread"),
    "n02871525": ("Shop", "Book"),
    "n02927161": ("Shop",),
    "n03032252": ("Cinema", "Architecture"),
    "n03461385": ("Shop", "Food"),
    "n03089624": ("Shop", "Dessert"),
    "n04200800": ("Shoes", "Shop"),
    "n04443257": ("Shop",),
    "n03742115": ("Medicine chest", "Bathroom"),
    "n04070727b": (),
    "n03240683": ("Sea",),
    "n03933933": ("Pier", "Water", "Coast"),
    "n04366367": ("Bridge", "Architecture"),  # suspension bridge
    "n04311174": ("Drum & Percussion", "Music"),  # steel arch bridge
    "n04532670": ("Bridge", "Architecture"),  # viaduct
    "n02894605": ("Coast", "Sea"),
    "n03874599": ("Lock",),
    "n04040759": (),
    "n04589890": ("Window", "Home"),  # window screen
    "n04590129": ("Window", "Home"),  # window shade
    "n03223299": ("Door", "Home"),  # doormat
    "n04239074": ("Door", "Home"),  # sliding door
    "n02788148": ("Stairs", "Home"),  # bannister
    "n04525305": (),
    "n02977058": (),
    "n03706229": (),
    "n03196217": ("Clock",),  # digital clock
    "n04548280": ("Clock",),  # wall clock
    "n04328186": ("Clock & Watch",),
    "n03197337": ("Clock & Watch",),  # digital watch
    "n04355338": (),
    "n03908618": ("Writing",),
    "n03291819": ("Envelope", "Writing"),
    "n03642806b": (),
    "n06359193": ("Website", "Screenshot"),  # web site
    "n03485407": ("Computer", "Electronics"),
    "n03930313b": (),
    "n04264628b": (),
    "n03958227": ("Bag",),
    "n04026417": ("Handbag", "Bag"),
    "n03709823": ("Bag",),
    "n02769748": ("Backpack", "Bag"),
    "n03908714": ("Writing",),
    "n03929660": ("Guitar", "Music"),  # plectrum
    "n04507155": ("Umbrella",),
    "n04399382": ("Teddy bear", "Toy"),
    "n02966193": ("Fairground",),
    "n04371774": ("Playground",),
    "n03814906": ("Jewellery",),
    "n04330267": ("Kitchen",),
    "n03976467": ("Camera", "Electronics"),
    "n04069434": ("Camera", "Electronics"),
    "n04041544": ("Radio", "Electronics"),
    "n03126707": ("Construction",),
    "n04296562": ("Stage", "Concert"),
    "n04275548": ("Spider web",),
    "n04562935": ("Tower", "Architecture"),
    "n03950228": ("Kitchen",),
    "n03633091": ("Kitchen",),
    "n03733805": ("Kitchen",),
    "n04476259": ("Kitchen",),
    "n04131690": ("Kitchen",),
    "n04418357": ("Theater", "Stage"),
    "n03924679": ("Electronics",),
    "n04505470": ("Typewriter",),
    "n04251144": ("Snorkeling", "Swimming", "Water"),
    "n04317175": ("Medical",),
    "n04376876": ("Medical",),
    "n04336792": ("Medical",),
    "n03141823": ("Medical",),
    "n03991062": ("Plant", "Garden"),
    "n02843684": ("Garden",),
    "n04204238": ("Shopping",),
    "n04019541": ("Ice hockey", "Sport"),
    "n03062245": ("Cocktail", "Drink"),
    "n03938244": ("Bed",),
    "n04033995": ("Bed",),
    "n03271574": ("Electronics",),
    "n03492542": ("Computer", "Electronics"),
    "n02978881": ("Music",),
    "n11939491": ("Flower", "Plant"),
    "n12057211": ("Flower", "Plant"),
    "n03935335": ("Toy",),
    "n03944341": ("Toy",),
    "n02825657": ("Church", "Architecture"),
    "n03425413": ("Gas pump", "Car"),
    "n02974003": ("Car",),
    "n02965783": ("Car",),
    "n04258138": ("Science",),
    "n04044716": ("Science",),
    "n03733281": ("Garden",),
    "n03998194": ("Place of worship",),
    "n09999999": (),
}

# The everyday things WordNet files under no tagged node: with these, every one of the
# 1,000 classes has at least one tag.
EVERYDAY_TAGS: dict[str, tuple[str, ...]] = {
    "n02666196": ("Abacus", "Toy"), "n02699494": ("Altar", "Place of worship"),
    "n02747177": ("Trash can", "Household"), "n02786058": ("Medical",),  # Band Aid
    "n02794156": ("Barometer", "Measuring instrument"), "n02795169": ("Barrel", "Container"),
    "n02808304": ("Towel", "Bathroom"), "n02815834": ("Science", "Container"),  # beaker
    "n02834397": ("Baby", "Clothing"),  # bib
    "n02840245": ("Office",),  # binder
    "n02841315": ("Binoculars", "Optics"), "n02877765": ("Bottle cap", "Bottle", "Drink"),  # bottlecap
    "n02895154": ("Armor",),  # breastplate
    "n02906734": ("Cleaning", "Household"),  # broom
    "n02909870": ("Bucket", "Container"), "n02910353": ("Clothing",),  # buckle
    "n02966687": ("Tool",),  # carpenter's kit
    "n02977058": ("ATM", "Money"),  # cash machine
    "n02999410": ("Chain", "Hardware"), "n03045698": ("Clothing",),  # cloak
    "n03065424": ("Hardware",),  # coil
    "n03075370": ("Lock",),  # combination lock
    "n03207743": ("Cleaning", "Kitchen"),  # dishrag
    "n03208938": ("Vehicle part",),  # disk brake
    "n03314780": ("Cosmetics",),  # face powder
    "n03347037": ("Fireplace", "Home"),  # fire screen
    "n03424325": ("Mask",),  # gasmask
    "n03443371": ("Tableware", "Drink"),  # goblet
    "n03459775": ("Car", "Vehicle"),  # grille (a car's)
    "n03467068": ("Guillotine",), "n03476684": ("Hair accessory",),  # hair slide
    "n03476991": ("Cosmetics",),  # hair spray
    "n03482405": ("Basket",),  # hamper
    "n03483316": ("Bathroom", "Appliance"),  # hand blower
    "n03485794": ("Clothing",),  # handkerchief
    "n03527444": ("Holster", "Weapon"),  # holster
    "n03530642": ("Honeycomb",), "n03532672": ("Hook", "Hardware"),
    "n03627232": ("Rope",),  # knot
    "n03657121": ("Camera",),  # lens cap
    "n03676483": ("Cosmetics",),  # lipstick
    "n03690938": ("Cosmetics",),  # lotion
    "n03692522": ("Optics",),  # loupe
    "n03697007": ("Wood", "Industry"),  # lumbermill
    "n03706229": ("Compass", "Navigation"),  # magnetic compass
    "n03717622": ("Street",),  # manhole cover
    "n03729826": ("Fire",),  # matchstick
    "n03733131": ("Festival",),  # maypole
    "n03764736": ("Container", "Farm"),  # milk can
    "n03786901": ("Kitchen", "Cooking"),  # mortar
    "n03788365": ("Bed",),  # mosquito net
    "n03792972": ("Tent", "Camping"),  # mountain tent
    "n03794056": ("Household",),  # mousetrap
    "n03803284": ("Dog", "Pet"),  # muzzle (on a dog)
    "n03804744": ("Hardware", "Tool"),  # nail
    "n03814639": ("Medical",),  # neck brace
    "n03841143": ("Car", "Vehicle"),  # odometer
    "n03843555": ("Car", "Vehicle part"),  # oil filter
    "n03868863": ("Medical", "Mask"),  # oxygen mask
    "n03871628": ("Packaging",),  # packet
    "n03874293": ("Boat", "Water"),  # paddlewheel
    "n03876231": ("Art", "Tool"),  # paintbrush
    "n03887697": ("Kitchen", "Household"),  # paper towel
    "n03903868": ("Architecture",),  # pedestal
    "n03916031": ("Cosmetics", "Bottle"),  # perfume
    "n03929855": ("Helmet", "Hat", "Military"),  # pickelhaube
    "n03961711": ("Kitchen", "Tableware"),  # plate rack
    "n03976657": ("Pole",),
    "n03992509": ("Pottery", "Art"),  # potter's wheel
    "n04009552": ("Electronics",),  # projector
    "n04040759": ("Heating", "Home"),  # radiator
    "n04049303": ("Barrel", "Garden", "Container"),  # rain barrel
    "n04067472": ("Fishing",),  # reel
    "n04116512": ("Writing", "Office"),  # rubber eraser
    "n04118776": ("Tool", "Office"),  # rule
    "n04127249": ("Sewing",),  # safety pin
    "n04141327": ("Scabbard", "Weapon"),  # scabbard
    "n04141975": ("Weighing scale",),  # scale
    "n04149813": ("Sport", "Sign"),  # scoreboard
    "n04152593": ("Electronics",),  # screen
    "n04153751": ("Hardware", "Tool"),  # screw
    "n04201297": ("Home",),  # shoji
    "n04229816": ("Clothing", "Hat"),  # ski mask
    "n04243546": ("Casino",),  # slot
    "n04265275": ("Heating", "Appliance"),  # space heater
    "n04277352": ("Textile",),  # spindle
    "n04357314": ("Cosmetics", "Bottle"),  # sunscreen
    "n04367480": ("Cleaning", "Household"),  # swab
    "n04372370": ("Electronics",),  # switch
    "n04423845": ("Sewing",),  # thimble
    "n04428191": ("Farm", "Vehicle"),  # thresher
    "n04485082": ("Camera",),  # tripod
    "n04501370": ("Gate",),  # turnstile
    "n04522168": ("Vase", "Home"), "n04525038": ("Textile",),  # velvet
    "n04525305": ("Vending machine", "Shop"), "n04548362": ("Wallet", "Money"),
    "n04579432": ("Whistle",), "n04597913": ("Kitchen", "Tableware"),  # wooden spoon
    "n04599235": ("Wool", "Textile"),
}

# Family tags: a photo whose classes of these kinds together are probable enough
# (`family_threshold`, tuned by tools/tune_families.py) gets the family's tag, however the
# probability is spread among them. What makes a photo worth a landmark look.
FAMILIES: dict[str, tuple[str, ...]] = {
    "Architecture": ("Architecture", "Building", "Monument", "Castle", "Palace", "Church",
                     "Mosque", "Temple", "Place of worship", "Tower", "Bridge", "Lighthouse",
                     "Fountain", "Dome", "Arch", "Obelisk", "Barn", "Boathouse", "Greenhouse",
                     "Roof", "Stairs", "Gate", "Door", "Window", "Patio", "Prison", "Home",
                     "Fence", "Street", "Harbour", "Shop", "Farm", "Altar", "Wall", "Dam",
                     "Pier"),
    "Landscape": ("Landscape", "Mountain", "Volcano", "Valley", "Cliff", "Geyser", "Coast",
                  "Beach", "Lake", "Sea", "Nature", "Snow", "Park", "Garden"),
}

# Tags a class does not get although a WordNet ancestor gives them: what a person would
# never call it (a minivan is a car, though WordNet files vans under trucks).
WITHOUT: dict[str, frozenset[str]] = {
    "n03770679": frozenset({"Truck"}),  # minivan
}

DROP = {"n03314780b", "n02835271b", "n03662601b", "n03598930b", "n04404412b", "n03272010b",
        "n03179701b", "n03476684b", "n04584207b", "n04592741b", "n04070727b", "n03642806b",
        "n03930313b", "n04264628b", "n09999999"}


def read_wordnet(path: Path = WORDNET) -> dict[str, tuple[list[str], list[str]]]:
    """Noun synsets by wnid: (lemmas, hypernym wnids), from WordNet's data.noun."""
    synsets: dict[str, tuple[list[str], list[str]]] = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue
        fields = line.partition(" | ")[0].split()
        count = int(fields[3], 16)
        lemmas = [fields[4 + 2 * i].replace("_", " ") for i in range(count)]
        at = 4 + 2 * count
        pointers, at = int(fields[at]), at + 1
        hypernyms = []
        for _ in range(pointers):
            symbol, offset, pos = fields[at], fields[at + 1], fields[at + 2]
            at += 4
            if symbol in ("@", "@i") and pos == "n":
                hypernyms.append("n" + offset)
        synsets["n" + fields[0]] = (lemmas, hypernyms)
    return synsets


def ancestors(wnid: str, synsets: dict) -> list[str]:
    seen: list[str] = []
    stack = [wnid]
    while stack:
        for parent in synsets[stack.pop()][1]:
            if parent not in seen:
                seen.append(parent)
                stack.append(parent)
    return seen


def build(wnids: list[str], synsets: dict) -> dict:
    classes = []
    for wnid in wnids:
        tags: list[str] = []
        for node in [wnid, *ancestors(wnid, synsets)]:
            tags.extend(NODE_TAGS.get(node, ()))
        if wnid not in DROP:
            tags.extend(CLASS_TAGS.get(wnid, ()))
        tags.extend(EVERYDAY_TAGS.get(wnid, ()))
        tags = [t for t in tags if t not in WITHOUT.get(wnid, ())]
        if not tags:
            raise SystemExit(f"{wnid} ({synsets[wnid][0][0]}) has no tag: give it one")
        classes.append({"wnid": wnid, "label": synsets[wnid][0][0],
                        "tags": sorted(set(tags))})
    return {"source": "WordNet 3.0 hypernyms (Debian wordnet-base) + tools/build_taxonomy.py",
            "classes": classes, "families": {k: list(v) for k, v in FAMILIES.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=TAXONOMY_DIR / "imagenet_tags.json")
    parser.add_argument("--report", action="store_true", help="list classes without tags")
    args = parser.parse_args()
    wnids = (TAXONOMY_DIR / "imagenet_wnids.txt").read_text().split()
    synsets = read_wordnet()
    unknown = [w for w in list(NODE_TAGS) + list(CLASS_TAGS) if w not in synsets and w not in DROP]
    if unknown:
        raise SystemExit(f"not WordNet noun synsets: {unknown}")
    taxonomy = build(wnids, synsets)
    thresholds_path = args.out
    if thresholds_path.exists():  # keep thresholds tuned earlier
        earlier = json.loads(thresholds_path.read_text())
        for key in ("thresholds", "thresholds_source", "top1_sure", "family_threshold"):
            if key in earlier:
                taxonomy[key] = earlier[key]
    args.out.write_text(json.dumps(taxonomy, indent=1) + "\n")
    names = {t for c in taxonomy["classes"] for t in c["tags"]}
    untagged = [c for c in taxonomy["classes"] if not c["tags"]]
    print(f"{len(names)} tags, {len(untagged)} of {len(wnids)} classes untagged")
    if args.report:
        for c in untagged:
            print(c["wnid"], c["label"])


if __name__ == "__main__":
    main()
