"""The audio bank's categories: what sounds and what is seen, and where each comes from.

AVS-Synth stands in for AudioSet in two roles: its recordings pretrain the audio encoder (as
AudioSet pretrains VGGish) and its visual categories make the segmentation benchmark. Every
category has an AudioSet-like name and a role:

* ``visual``: a sounding-object category of AVS-Synth S4/MS3 (Tux Paint photo cut-outs with exact
  alpha, and recordings);
* ``openset``: a visual category that segmentation training never sees (``test_openset``); the
  default audio encoder hears its training recordings, as AudioSet's VGGish has heard the
  categories AVS open-set tests hold out (``strict`` pretraining leaves them out);
* ``audio``: heard in pretraining only (speech of women, vehicles, tools, weather, ...), so the
  encoder learns what sounds are, not only the benchmark's categories.

Recordings are real: Debian's media packages (``MEDIA_PACKAGES``, installed by ``make media``),
named by package and path (inside a GCompris ``.rcc`` or the OpenSFX ``.cat`` after ``::``).
Grade A: the package documents a real recording (educational sets, freesound, sample banks);
grade B: a game's sound effect, very likely recorded but possibly processed (not listened to).
``gm``: FluidR3 General-MIDI programs (sampled instruments) rendered as melodies; each program
counts as one source when recordings are split. ``speech``: Tux Paint's recorded descriptions of
its stamps, one speaker per language (a man's or a woman's voice), each speaker one source.
Licences: ``PACKAGES``; the bank records the source and licence of every clip it uses.
"""

from dataclasses import dataclass, field

__all__ = [
    "BANK_VERSION",
    "CATEGORIES",
    "MEDIA_PACKAGES",
    "PACKAGES",
    "Package",
    "Recording",
    "Category",
]

# the bank's edition: pretrained audio encoders record it and name their files with it
# (pretrained/vggish_bank4_3000steps.pth), so one made from another bank is never taken for this
# one. 3: twelve packages; 4: seven more (qabcs, Scratch, MegaGlest, Widelands, Micropolis,
# Simutrans, sound-icons), recording sessions as one source, goats no longer drawn as sheep
BANK_VERSION = 4


@dataclass(frozen=True)
class Package:
    debian: str  # the Debian package (make media installs it)
    root: str  # where its media lie once installed
    licence: str


PACKAGES = {
    "tux": Package("tuxpaint-stamps-default", "/usr/share/tuxpaint/stamps", "GPL-2+"),
    "gc": Package(
        "gcompris-qt-data",
        "/usr/share/gcompris-qt/rcc",
        "GPL-3+; instrument and animal recordings CC-BY-SA-3.0/4.0 or public domain",
    ),
    "osfx": Package(
        "openttd-opensfx",
        "/usr/share/games/openttd/baseset/opensfx",
        "CC-BY-3.0, CC-BY-SA-3.0 or CC0 per recording (named in the entry)",
    ),
    "spi": Package("sonic-pi-samples", "/usr/share/sonic-pi/samples", "CC0 (a few CC-BY-SA-4.0)"),
    "fdo": Package(
        "sound-theme-freedesktop", "/usr/share/sounds/freedesktop/stereo", "CC-BY(-SA)-3.0, GPL-2+"
    ),
    "s3d": Package(
        "scorched3d-data",
        "/usr/share/games/scorched3d/data/globalmods",
        "GPL-2+ (apoc mod CC-BY-SA-3.0)",
    ),
    "lug": Package("lugaru-data", "/usr/share/games/lugaru/Sounds", "CC-BY-SA-3.0/4.0, GPL-2+"),
    "wes": Package("wesnoth-1.16-data", "/usr/share/games/wesnoth/1.16/data", "GPL-2+"),
    "sar": Package("searchandrescue-data", "/usr/share/games/searchandrescue", "GPL-2+"),
    "lmms": Package("lmms-common", "/usr/share/lmms/samples", "GPL-2+"),
    "pk2": Package("pekka-kana-2-data", "/usr/share/games/pekka-kana-2/data", "BSD-2-Clause"),
    "csq": Package(
        "csoundqt-examples", "/usr/share/csoundqt/Examples/SourceMaterials", "LGPL-2.1+, GPL-3+"
    ),
    # bank 4
    "abc": Package("qabcs-data", "/usr/share/qabcs/abcs/all/noises", "GPL-3+"),
    "scr": Package("scratch", "/usr/share/scratch/Media/Sounds", "CC-BY-SA-3.0 (Scratch 1.4)"),
    "mic": Package("micropolis-data", "/usr/share/games/micropolis/res/sounds", "GPL-3+"),
    # MegaGlest: its common unit sounds, its factions' units, its tilesets' ambience
    "mg": Package(
        "megaglest-data",
        "/usr/share/games/megaglest/techs/megapack/commondata/sounds",
        "CC-BY-SA-3.0",
    ),
    "mgf": Package(
        "megaglest-data", "/usr/share/games/megaglest/techs/megapack/factions", "CC-BY-SA-3.0"
    ),
    "mgt": Package("megaglest-data", "/usr/share/games/megaglest/tilesets", "CC-BY-SA-3.0"),
    "wl": Package("widelands-data", "/usr/share/games/widelands/data", "GPL-2+"),
    "sim": Package("simutrans-pak64", "/usr/share/games/simutrans/pak/sound", "Artistic-1.0"),
    "sic": Package("sound-icons", "/usr/share/sounds/sound-icons", "GPL-2+"),
}
# everything make media installs: the packages above, Tux Paint's backgrounds and the soundfont
MEDIA_PACKAGES = sorted(
    {p.debian for p in PACKAGES.values()} | {"tuxpaint-data", "fluid-soundfont-gm"}
)
SOUNDFONT_LICENCE = "MIT (fluid-soundfont-gm, FluidR3_GM.sf2)"


@dataclass(frozen=True)
class Recording:
    package: str  # a key of PACKAGES
    path: str  # under the package's root; "<archive>::<entry>" inside a .rcc / .cat
    grade: str  # "A" documented real recording, "B" a game's sound effect
    # clips a package cut from one recording session (a game's "sheep1" .. "sheep10") or its
    # numbered takes of one sound ("carhorn1" .. "carhorn6") share a family: the split counts
    # them as one source, so they all lie on one side of it
    family: str = ""


def A(package, path, family=""):  # noqa: N802 (reads as the grade)
    return Recording(package, path, "A", family)


def B(package, path, family=""):  # noqa: N802
    return Recording(package, path, "B", family)


@dataclass(frozen=True)
class Category:
    audioset: str  # the nearest AudioSet class
    role: str  # "visual", "openset" or "audio"
    stamps: list = field(default_factory=list)  # Tux Paint cut-outs (.png), visual roles
    recordings: list = field(default_factory=list)
    gm: list = field(default_factory=list)  # GM programs ("drums": the GM kit)
    speech: list = field(default_factory=list)  # Tux Paint speech languages, one speaker each


C = Category

CATEGORIES = {
    # -------- visual
    "dog": C(
        "Dog",
        "visual",
        stamps=[
            "animals/mammals/dogs/dog",
            "animals/mammals/dogs/dingo",
            "animals/mammals/dogs/fox",
        ],
        recordings=[
            A("gc", "explore_farm_animals.rcc::animals/dog.ogg"),  # 0.9 s
            A("gc", "memory-sound.rcc::LRBark_1_LA_cut.ogg"),  # 1.8 s
            A("gc", "memory-sound.rcc::LRBark_3_LA_cut.ogg"),  # 2.4 s
            B("lug", "Bark.ogg", "lug_bark"),  # 0.6 s
            B("lug", "Bark2.ogg", "lug_bark"),  # 0.4 s
            B("lug", "Bark3.ogg", "lug_bark"),  # 0.6 s
            B("lug", "BarkGrowl.ogg"),  # 0.3 s
            B("s3d", "apoc/data/wav/misc/dog.wav", "s3d_dog"),  # 0.3 s
            B("s3d", "apoc/data/wav/misc/dog2.wav", "s3d_dog"),  # 0.9 s
            B("s3d", "apoc/data/wav/misc/dog3.wav", "s3d_dog"),  # 3.9 s
            A("tux", "animals/mammals/dogs/dog.ogg"),  # 0.9 s
            # bank 4
            A("abc", "dog.ogg"),  # 0.6 s
            A("scr", "Animal/Dog1.wav", "scr_dog"),  # 0.2 s
            A("scr", "Animal/Dog2.wav", "scr_dog"),  # 0.1 s
        ],
    ),
    "cow": C(
        "Cattle, bovinae",
        "visual",
        stamps=[
            "animals/mammals/bovines/cow",
            "animals/mammals/bovines/cow_white",
            "animals/mammals/bovines/bull",
            "animals/mammals/bovines/bison",
            "animals/mammals/bovines/yak",
        ],
        recordings=[
            A("gc", "explore_farm_animals.rcc::animals/cow.ogg"),  # 4.5 s
            A("osfx", "opensfx.cat::37"),  # 1.5 s
            B("pk2", "sfx/moo.wav"),  # 1.1 s
            B("s3d", "apoc/data/wav/misc/cows.wav"),  # 4.6 s
            B("s3d", "apoc/data/wav/misc/moo.wav"),  # 1.6 s
            A("tux", "animals/mammals/bovines/bison.ogg"),  # 3.7 s
            A("tux", "animals/mammals/bovines/bull.ogg"),  # 2.3 s
            A("tux", "animals/mammals/bovines/cow.ogg"),  # 1.2 s
            A("tux", "animals/mammals/bovines/cow_white.ogg"),  # 2.2 s
            # bank 4
            A("abc", "cow.ogg"),  # 1.6 s
            A("abc", "calf.ogg"),  # 2.3 s
            A("abc", "yak.ogg"),  # 3.3 s
            B("mg", "cow_ack1.wav", "megaglest_cow"),  # 1.2 s
            B("mg", "cow_ack2.wav", "megaglest_cow"),  # 1.7 s
            B("mg", "cow_ack3.wav", "megaglest_cow"),  # 1.5 s
            B("mg", "cow_die1.wav", "megaglest_cow"),  # 0.9 s
            B("mg", "cow_die2.wav", "megaglest_cow"),  # 1.1 s
            B("mg", "cow_die3.wav", "megaglest_cow"),  # 1.3 s
            B("mg", "cow_select1.wav", "megaglest_cow"),  # 1.0 s
            B("mg", "cow_select2.wav", "megaglest_cow"),  # 0.6 s
            B("mg", "cow_select3.wav", "megaglest_cow"),  # 1.1 s
            B("mgf", "indian/units/bull/sounds/bull_ack1.wav", "megaglest_bull"),  # 1.7 s
            B("mgf", "indian/units/bull/sounds/bull_ack2.wav", "megaglest_bull"),  # 1.2 s
            B("mgf", "indian/units/bull/sounds/bull_ack3.wav", "megaglest_bull"),  # 0.7 s
            B("mgf", "indian/units/bull/sounds/bull_ack4.wav", "megaglest_bull"),  # 1.2 s
            B("mgf", "indian/units/bull/sounds/bull_die1.wav", "megaglest_bull"),  # 2.4 s
            B("mgf", "indian/units/bull/sounds/bull_die2.wav", "megaglest_bull"),  # 1.9 s
            B("mgf", "indian/units/bull/sounds/bull_select1.wav", "megaglest_bull"),  # 1.9 s
            B("mgf", "indian/units/bull/sounds/bull_select2.wav", "megaglest_bull"),  # 0.8 s
            B("mgf", "indian/units/bull/sounds/bull_select3.wav", "megaglest_bull"),  # 1.5 s
            B("wl", "sound/farm/ox_00.ogg", "widelands_ox"),  # 1.9 s
            B("wl", "sound/farm/ox_01.ogg", "widelands_ox"),  # 1.3 s
        ],
    ),
    "horse": C(
        "Horse",
        "visual",
        stamps=[
            "animals/mammals/equines/horse",
            "animals/mammals/equines/donkey",
            "animals/mammals/equines/donkey_eating",
            "animals/mammals/equines/zebra",
        ],
        recordings=[
            A("gc", "explore_farm_animals.rcc::animals/horse.ogg"),  # 3.5 s
            A("osfx", "opensfx.cat::38"),  # 1.8 s
            A("tux", "animals/mammals/equines/donkey.ogg"),  # 3.1 s
            A("tux", "animals/mammals/equines/horse.ogg"),  # 2.2 s
            A("tux", "animals/mammals/equines/zebra.ogg"),  # 2.5 s
            B("wes", "core/sounds/horse-canter.wav"),  # 0.9 s
            B("wes", "core/sounds/horse-die.ogg"),  # 1.0 s
            B("wes", "core/sounds/horse-elf-canter.wav"),  # 0.9 s
            B("wes", "core/sounds/horse-hit-1.ogg", "wes_horse_hit"),  # 0.8 s
            B("wes", "core/sounds/horse-hit-2.ogg", "wes_horse_hit"),  # 0.9 s
            B("wes", "core/sounds/horse-hit-3.ogg", "wes_horse_hit"),  # 1.0 s
            # bank 4
            A("abc", "horse.ogg"),  # 1.8 s
            A("abc", "foal.ogg"),  # 0.6 s
            A("abc", "zebra.ogg"),  # 1.5 s
            A("scr", "Animal/Horse.wav"),  # 1.2 s
            A("scr", "Animal/HorseGallop.wav"),  # 3.5 s
            B("wl", "sound/farm/donkey.ogg"),  # 1.1 s
            B("sim", "horse.wav"),  # 2.9 s
        ],
    ),
    "sheep": C(
        "Sheep",
        "visual",
        stamps=[
            "animals/mammals/bovines/sheep",
            "animals/mammals/bovines/sheep_lamb",
            "animals/mammals/bovines/ram",
        ],
        recordings=[
            A("gc", "explore_farm_animals.rcc::animals/sheep.ogg"),  # 1.3 s
            A("osfx", "opensfx.cat::36"),  # 1.3 s
            B("s3d", "apoc/data/wav/misc/sheep.wav"),  # 1.0 s
            A("tux", "animals/mammals/bovines/sheep.ogg"),  # 1.1 s
            A("tux", "animals/mammals/bovines/sheep_lamb.ogg"),  # 0.5 s
            # bank 4
            A("abc", "sheep.ogg"),  # 0.7 s
            B("mgf", "persian/units/sheep/sounds/sheep1.wav", "megaglest_sheep"),  # 0.8 s
            B("mgf", "persian/units/sheep/sounds/sheep2.wav", "megaglest_sheep"),  # 0.8 s
            B("mgf", "persian/units/sheep/sounds/sheep3.wav", "megaglest_sheep"),  # 0.9 s
            B("mgf", "persian/units/sheep/sounds/sheep4.wav", "megaglest_sheep"),  # 1.2 s
            B("mgf", "persian/units/sheep/sounds/sheep5.wav", "megaglest_sheep"),  # 1.0 s
            B("mgf", "persian/units/sheep/sounds/sheep6.wav", "megaglest_sheep"),  # 1.1 s
            B("mgf", "persian/units/sheep/sounds/sheep7.wav", "megaglest_sheep"),  # 1.2 s
            B("mgf", "persian/units/sheep/sounds/sheep8.wav", "megaglest_sheep"),  # 1.3 s
            B("mgf", "persian/units/sheep/sounds/sheep9.wav", "megaglest_sheep"),  # 1.1 s
            B("mgf", "persian/units/sheep/sounds/sheep10.wav", "megaglest_sheep"),  # 1.2 s
            B("mgf", "persian/units/sheep/sounds/sheep_die1.wav", "megaglest_sheep"),  # 1.7 s
            B("mgf", "persian/units/sheep/sounds/sheep_die2.wav", "megaglest_sheep"),  # 1.4 s
            B("mgf", "persian/units/sheep/sounds/sheep_die3.wav", "megaglest_sheep"),  # 1.9 s
            B("wl", "sound/farm/sheep_00.ogg", "widelands_sheep"),  # 0.8 s
            B("wl", "sound/farm/sheep_01.ogg", "widelands_sheep"),  # 1.0 s
        ],
    ),
    "pig": C(
        "Pig",
        "visual",
        stamps=[
            "animals/mammals/pig",
            "animals/mammals/pig_golden",
            "animals/mammals/pig_golden2",
        ],
        recordings=[
            A("gc", "explore_farm_animals.rcc::animals/pig.ogg"),  # 5.7 s
            B("pk2", "sprites/pig.wav", "pk2_pig"),  # 0.1 s
            B("pk2", "sprites/pig2.wav", "pk2_pig"),  # 0.1 s
            A("tux", "animals/mammals/pig.ogg"),  # 0.6 s
            A("tux", "animals/mammals/pig_golden.ogg", "tux_pig_golden"),  # 0.4 s
            A("tux", "animals/mammals/pig_golden2.ogg", "tux_pig_golden"),  # 0.3 s
            # bank 4
            A("abc", "pig.ogg"),  # 1.6 s
            B("mg", "pig_ack1.wav", "megaglest_pig"),  # 0.6 s
            B("mg", "pig_ack2.wav", "megaglest_pig"),  # 1.0 s
            B("mg", "pig_ack3.wav", "megaglest_pig"),  # 0.9 s
            B("mg", "pig_ack4.wav", "megaglest_pig"),  # 0.6 s
            B("mg", "pig_die1.wav", "megaglest_pig"),  # 0.9 s
            B("mg", "pig_die2.wav", "megaglest_pig"),  # 1.1 s
            B("mg", "pig_select1.wav", "megaglest_pig"),  # 0.6 s
            B("mg", "pig_select2.wav", "megaglest_pig"),  # 0.3 s
            B("mgf", "norsemen/units/wild_sow/sounds/pig_attack1.wav", "megaglest_sow"),  # 1.1 s
            B("mgf", "norsemen/units/wild_sow/sounds/pig_attack2.wav", "megaglest_sow"),  # 1.5 s
            B("mgf", "norsemen/units/wild_sow/sounds/pig_attack3.wav", "megaglest_sow"),  # 0.9 s
            B("wl", "sound/animals/boar.ogg"),  # 3.7 s
        ],
    ),
    "chicken": C(
        "Chicken, rooster",
        "visual",
        stamps=[
            "animals/birds/hen",
            "animals/birds/rooster",
            "animals/birds/chicken_profile",
            "animals/birds/turkey",
        ],
        recordings=[
            A("gc", "explore_farm_animals.rcc::animals/chickens.ogg"),  # 12.3 s
            B("pk2", "sprites/chick.wav"),  # 0.8 s
            B("pk2", "sprites/hen.wav"),  # 0.8 s
            B("s3d", "apoc/data/wav/misc/rooster.wav"),  # 1.8 s
            A("tux", "animals/birds/hen.ogg"),  # 1.5 s
            A("tux", "animals/birds/rooster.ogg"),  # 1.8 s
            A("tux", "animals/birds/turkey.ogg"),  # 1.6 s
            # bank 4
            A("abc", "rooster.ogg"),  # 1.9 s
            A("scr", "Animal/Rooster.wav"),  # 1.5 s
            B("mgf", "egypt/units/chicken/sounds/chicken_ack1.wav", "megaglest_chicken"),  # 1.4 s
            B("mgf", "egypt/units/chicken/sounds/chicken_ack2.wav", "megaglest_chicken"),  # 1.1 s
            B("mgf", "egypt/units/chicken/sounds/chicken_ack3.wav", "megaglest_chicken"),  # 1.4 s
            B("mgf", "egypt/units/chicken/sounds/chicken_ack4.wav", "megaglest_chicken"),  # 0.9 s
            B("mgf", "egypt/units/chicken/sounds/chicken_die1.wav", "megaglest_chicken"),  # 1.7 s
            B("mgf", "egypt/units/chicken/sounds/chicken_die2.wav", "megaglest_chicken"),  # 1.4 s
            B(
                "mgf", "egypt/units/chicken/sounds/chicken_select1.wav", "megaglest_chicken"
            ),  # 1.0 s
            B(
                "mgf", "egypt/units/chicken/sounds/chicken_select2.wav", "megaglest_chicken"
            ),  # 0.9 s
            B(
                "mgf", "egypt/units/chicken/sounds/chicken_standing1.wav", "megaglest_chicken"
            ),  # 1.5 s
            B(
                "mgf", "egypt/units/chicken/sounds/chicken_standing2.wav", "megaglest_chicken"
            ),  # 1.1 s
            B("mgt", "forest/sounds/chicken.wav"),  # 1.6 s
        ],
    ),
    "duck": C(
        "Duck",
        "visual",
        stamps=[
            "animals/birds/duck",
            "animals/birds/drake",
            "animals/birds/gander",
        ],
        recordings=[
            A("gc", "explore_farm_animals.rcc::animals/duck.ogg"),  # 4.9 s
            A("tux", "animals/birds/drake.ogg"),  # 0.6 s
            A("tux", "animals/birds/duck.ogg"),  # 3.2 s
            A("tux", "animals/birds/gander.ogg"),  # 1.1 s
            # bank 4
            A("abc", "duck.ogg"),  # 1.0 s
            A("abc", "goose.ogg"),  # 1.2 s
            A("scr", "Animal/Duck.wav"),  # 0.3 s
            A("scr", "Animal/Goose.wav"),  # 0.4 s
            B("mic", "quack.wav", "micropolis_quack"),  # 0.9 s
            B("mic", "quackquack.wav", "micropolis_quack"),  # 0.9 s
            B("wl", "world/critters/duck/duck_00.ogg", "widelands_duck"),  # 1.1 s
            B("wl", "world/critters/duck/duck_01.ogg", "widelands_duck"),  # 1.0 s
            B("wl", "world/critters/duck/duck_02.ogg", "widelands_duck"),  # 0.3 s
        ],
    ),
    "songbird": C(
        "Bird vocalization, bird call, bird song",
        "visual",
        stamps=[
            "animals/birds/blackbird",
            "animals/birds/lark",
            "animals/birds/cuckoo",
            "animals/birds/crow",
            "animals/birds/seagull",
        ],
        recordings=[
            A("osfx", "opensfx.cat::66"),  # 2.1 s
            A("osfx", "opensfx.cat::72"),  # 3.0 s
            B("pk2", "sprites/crow.wav"),  # 0.4 s
            B("s3d", "none/data/wav/misc/birdchirp1.wav", "s3d_birdchirp"),  # 1.9 s
            B("s3d", "none/data/wav/misc/birdchirp2.wav", "s3d_birdchirp"),  # 1.7 s
            B("s3d", "none/data/wav/misc/birdchirp3.wav", "s3d_birdchirp"),  # 0.7 s
            B("s3d", "none/data/wav/misc/birdchirp4.wav", "s3d_birdchirp"),  # 1.1 s
            B("s3d", "none/data/wav/misc/birdchirp5.wav", "s3d_birdchirp"),  # 2.3 s
            B("s3d", "none/data/wav/misc/birdchirp6.wav", "s3d_birdchirp"),  # 1.5 s
            B("s3d", "none/data/wav/misc/birds1.wav", "s3d_birds"),  # 54.8 s
            B("s3d", "none/data/wav/misc/birds2.wav", "s3d_birds"),  # 24.6 s
            B("s3d", "none/data/wav/misc/gull1.wav", "s3d_gull"),  # 0.4 s
            B("s3d", "none/data/wav/misc/gull2.wav", "s3d_gull"),  # 0.6 s
            B("s3d", "none/data/wav/misc/gull4.wav", "s3d_gull"),  # 0.4 s
            B("s3d", "none/data/wav/misc/gull5.wav", "s3d_gull"),  # 0.6 s
            A("spi", "misc_crow.flac"),  # 0.5 s
            A("tux", "animals/birds/blackbird.ogg"),  # 7.9 s
            A("tux", "animals/birds/crow.ogg"),  # 2.0 s
            A("tux", "animals/birds/cuckoo.ogg"),  # 1.5 s
            A("tux", "animals/birds/heron_greatblue_flying.ogg"),  # 3.0 s
            A("tux", "animals/birds/lark.ogg"),  # 1.9 s
            A("tux", "animals/birds/penguin.ogg"),  # 2.9 s
            A("tux", "animals/birds/quetzal.ogg"),  # 0.9 s
            A("tux", "animals/birds/seagull.ogg"),  # 3.8 s
            A("tux", "animals/birds/tucan.ogg"),  # 2.8 s
            B("wes", "core/sounds/ambient/birds1.ogg", "wes_birds"),  # 4.1 s
            B("wes", "core/sounds/ambient/birds2.ogg", "wes_birds"),  # 5.3 s
            B("wes", "core/sounds/ambient/birds3.ogg", "wes_birds"),  # 5.1 s
            B("wes", "core/sounds/ambient/morning.ogg"),  # 3.5 s
            # bank 4
            A("abc", "bird.ogg"),  # 1.4 s
            A("abc", "sparrow.ogg"),  # 2.6 s
            A("scr", "Animal/Bird.wav"),  # 0.3 s
            B("mic", "cuckoo.wav"),  # 0.8 s
            B("sim", "seagulls.wav"),  # 3.9 s
            B("sic", "canary-long.wav"),  # 0.7 s
        ],
    ),
    "big_cat": C(
        "Roaring cats (lions, tigers)",
        "visual",
        stamps=[
            "animals/mammals/cats/lion",
            "animals/mammals/cats/lion-2",
            "animals/mammals/cats/tiger",
            "animals/mammals/cats/tiger_sumatran",
        ],
        recordings=[
            A("osfx", "opensfx.cat::67"),  # 2.8 s
            A("tux", "animals/mammals/cats/lion.ogg"),  # 1.8 s
            A("tux", "animals/mammals/cats/tiger.ogg"),  # 6.9 s
            # bank 4
            A("abc", "lion.ogg"),  # 1.9 s
            A("abc", "tiger.ogg"),  # 1.7 s
            A("abc", "jaguar.ogg"),  # 2.1 s
        ],
    ),
    "violin": C(
        "Violin, fiddle",
        "visual",
        stamps=[
            "hobbies/music/string/violin",
        ],
        recordings=[
            A("csq", "BratscheMono.wav"),  # 8.2 s
            A("csq", "violins.wav"),  # 10.6 s
            A("gc", "instruments.rcc::violin.ogg"),  # 7.5 s
            A("lmms", "instruments/violin_double_stop01.ogg"),  # 1.2 s
            A("lmms", "instruments/violin_fingered01.ogg"),  # 1.9 s
            A("lmms", "instruments/violin_pizzicato01.ogg"),  # 0.3 s
            A("tux", "hobbies/music/string/violin.ogg"),  # 3.2 s
            # bank 4
            A("abc", "violin.ogg"),  # 1.7 s
        ],
        gm=[40, 41],
    ),
    "cello": C(
        "Cello",
        "visual",
        stamps=[
            "hobbies/music/string/cello",
        ],
        recordings=[
            A("gc", "instruments.rcc::cello.ogg"),  # 7.2 s
            A("lmms", "instruments/cello01.ogg"),  # 1.9 s
            A("tux", "hobbies/music/string/cello.ogg"),  # 3.9 s
            # bank 4
            A("abc", "cello.ogg"),  # 4.1 s
            B("sic", "violoncello-7.wav"),  # 1.4 s
        ],
        gm=[42, 43],
    ),
    "guitar": C(
        "Guitar",
        "visual",
        stamps=[
            "hobbies/music/string/guitar_classical",
            "hobbies/music/string/guitar_electric",
            "hobbies/music/string/guitar2",
        ],
        recordings=[
            A("csq", "ClassGuit.wav"),  # 5.3 s
            A("csq", "ClassicalGuitar.wav"),  # 20.1 s
            A("gc", "instruments.rcc::electric_guitar.ogg"),  # 9.5 s
            A("gc", "instruments.rcc::guitar.ogg"),  # 6.0 s
            A("gc", "memory-sound.rcc::guitar_melody.ogg"),  # 0.6 s
            A("gc", "memory-sound.rcc::guitar_son1.ogg", "gc_guitar_son"),  # 1.1 s
            A("gc", "memory-sound.rcc::guitar_son2.ogg", "gc_guitar_son"),  # 1.0 s
            A("gc", "memory-sound.rcc::guitar_son3.ogg", "gc_guitar_son"),  # 0.9 s
            A("gc", "memory-sound.rcc::guitar_son4.ogg", "gc_guitar_son"),  # 1.0 s
            A("lmms", "instruments/steel_guitar01.ogg"),  # 4.8 s
            A("lmms", "instruments/steel_guitar_heavy_distorted01.ogg"),  # 4.7 s
            A("lmms", "instruments/steel_guitar_medium_distorted01.ogg"),  # 4.7 s
            A("lmms", "instruments/steel_guitar_slight_distorted01.ogg"),  # 4.7 s
            A("lmms", "latin/latin_guitar01.ogg", "lmms_latin_guitar"),  # 3.8 s
            A("lmms", "latin/latin_guitar02.ogg", "lmms_latin_guitar"),  # 3.5 s
            A("lmms", "latin/latin_guitar03.ogg", "lmms_latin_guitar"),  # 8.0 s
            A("spi", "guit_e_fifths.flac"),  # 6.0 s
            A("spi", "guit_e_slide.flac"),  # 4.3 s
            A("spi", "guit_em9.flac"),  # 10.0 s
            A("spi", "guit_harmonics.flac"),  # 3.5 s
            # bank 4
            A("abc", "guitar.ogg"),  # 2.1 s
            A("abc", "electric_guitar.ogg"),  # 2.2 s
            A("scr", "Instruments/GuitarStrum.wav"),  # 2.3 s
            B("sic", "guitar-12.wav", "sic_guitar"),  # 0.5 s
            B("sic", "guitar-13.wav", "sic_guitar"),  # 0.4 s
        ],
        gm=[24, 25, 26, 27, 29],
    ),
    "trumpet": C(
        "Brass instrument",
        "visual",
        stamps=[
            "hobbies/music/brass/trumpet",
        ],
        recordings=[
            A("gc", "instruments.rcc::horn.ogg"),  # 6.0 s
            A("gc", "instruments.rcc::trombone.ogg"),  # 5.7 s
            A("gc", "instruments.rcc::trumpet.ogg"),  # 5.7 s
            A("gc", "instruments.rcc::tuba.ogg"),  # 6.0 s
            A("lmms", "instruments/trumpet01.ogg"),  # 3.0 s
            A("lmms", "latin/latin_brass01.ogg"),  # 1.9 s
            B("wes", "core/sounds/horn-signals/horn-1.ogg", "wes_horn"),  # 3.2 s
            B("wes", "core/sounds/horn-signals/horn-2.ogg", "wes_horn"),  # 4.1 s
            B("wes", "core/sounds/horn-signals/horn-3.ogg", "wes_horn"),  # 3.7 s
            B("wes", "core/sounds/horn-signals/horn-4.ogg", "wes_horn"),  # 4.4 s
            B("wes", "core/sounds/horn-signals/horn-5.ogg", "wes_horn"),  # 4.4 s
            B("wes", "core/sounds/horn-signals/horn-6.ogg", "wes_horn"),  # 4.0 s
            B("wes", "core/sounds/horn-signals/horn-7.ogg", "wes_horn"),  # 5.1 s
            B("wes", "core/sounds/horn-signals/horn-8.ogg", "wes_horn"),  # 4.5 s
            # bank 4
            A("abc", "trumpet.ogg"),  # 2.1 s
            A("abc", "horn.ogg"),  # 0.4 s
            A("scr", "Instruments/Trumpet1.wav", "scratch_trumpet"),  # 2.1 s
            A("scr", "Instruments/Trumpet2.wav", "scratch_trumpet"),  # 1.9 s
            B("sic", "trumpet-1.wav", "soundicons_trumpet"),  # 1.5 s
            B("sic", "trumpet-12.wav", "soundicons_trumpet"),  # 1.8 s
        ],
        gm=[56, 57, 58, 59, 60],
    ),
    "drums": C(
        "Drum kit",
        "visual",
        stamps=[
            "hobbies/music/percussion/drumkit",
            "hobbies/music/percussion/drum_tomtom_floor",
            "hobbies/music/percussion/cymbal_crash",
        ],
        recordings=[
            A("gc", "instruments.rcc::cymbal.ogg"),  # 7.1 s
            A("gc", "instruments.rcc::drum_kit.ogg"),  # 3.8 s
            A("gc", "instruments.rcc::snare_drum.ogg"),  # 7.1 s
            A("lmms", "beats/break01.ogg", "lmms_break"),  # 1.4 s
            A("lmms", "beats/break02.ogg", "lmms_break"),  # 1.7 s
            A("lmms", "beats/break03.ogg", "lmms_break"),  # 1.4 s
            A("lmms", "drums/bassdrum_acoustic01.ogg", "lmms_bassdrum_acoustic"),  # 0.1 s
            A("lmms", "drums/bassdrum_acoustic02.ogg", "lmms_bassdrum_acoustic"),  # 2.2 s
            A("lmms", "drums/crash01.ogg", "lmms_crash"),  # 0.9 s
            A("lmms", "drums/crash02.ogg", "lmms_crash"),  # 2.6 s
            A("lmms", "drums/hihat_closed01.ogg", "lmms_hihat_closed"),  # 0.1 s
            A("lmms", "drums/hihat_closed02.ogg", "lmms_hihat_closed"),  # 0.1 s
            A("lmms", "drums/hihat_closed03.ogg", "lmms_hihat_closed"),  # 0.1 s
            A("lmms", "drums/hihat_closed04.ogg", "lmms_hihat_closed"),  # 0.1 s
            A("lmms", "drums/hihat_closed05.ogg", "lmms_hihat_closed"),  # 0.1 s
            A("lmms", "drums/hihat_foot_pedal01.ogg"),  # 0.5 s
            A("lmms", "drums/hihat_opened01.ogg", "lmms_hihat_opened"),  # 0.4 s
            A("lmms", "drums/hihat_opened02.ogg", "lmms_hihat_opened"),  # 0.4 s
            A("lmms", "drums/hihat_opened03.ogg", "lmms_hihat_opened"),  # 0.4 s
            A("lmms", "drums/ride01.ogg", "lmms_ride"),  # 1.0 s
            A("lmms", "drums/ride02.ogg", "lmms_ride"),  # 0.2 s
            A("lmms", "drums/snare_acoustic01.ogg"),  # 0.2 s
            A("lmms", "drums/tom01.ogg", "lmms_tom"),  # 0.7 s
            A("lmms", "drums/tom02.ogg", "lmms_tom"),  # 0.1 s
            A("lmms", "drums/tom03.ogg", "lmms_tom"),  # 1.1 s
            A("lmms", "drums/tom04.ogg", "lmms_tom"),  # 1.0 s
            A("lmms", "drums/tom05.ogg", "lmms_tom"),  # 0.8 s
            A("lmms", "drums/tom_hi01.ogg"),  # 0.2 s
            A("lmms", "drums/tom_low01.ogg"),  # 0.3 s
            A("lmms", "drums/tom_mid01.ogg"),  # 0.3 s
            A("spi", "drum_bass_hard.flac"),  # 0.7 s
            A("spi", "drum_bass_soft.flac"),  # 0.6 s
            A("spi", "drum_cymbal_closed.flac"),  # 0.2 s
            A("spi", "drum_cymbal_hard.flac"),  # 1.6 s
            A("spi", "drum_cymbal_open.flac"),  # 1.8 s
            A("spi", "drum_cymbal_pedal.flac"),  # 0.3 s
            A("spi", "drum_cymbal_soft.flac"),  # 0.9 s
            A("spi", "drum_heavy_kick.flac"),  # 0.3 s
            A("spi", "drum_snare_hard.flac"),  # 0.4 s
            A("spi", "drum_snare_soft.flac"),  # 0.3 s
            A("spi", "drum_splash_hard.flac"),  # 2.6 s
            A("spi", "drum_splash_soft.flac"),  # 1.9 s
            A("spi", "drum_tom_hi_hard.flac"),  # 0.7 s
            A("spi", "drum_tom_hi_soft.flac"),  # 0.6 s
            A("spi", "drum_tom_lo_hard.flac"),  # 1.0 s
            A("spi", "drum_tom_lo_soft.flac"),  # 0.9 s
            A("spi", "drum_tom_mid_hard.flac"),  # 0.7 s
            A("spi", "drum_tom_mid_soft.flac"),  # 0.7 s
            A("spi", "loop_amen.flac"),  # 1.8 s
            A("spi", "loop_amen_full.flac"),  # 6.9 s
            A("spi", "loop_breakbeat.flac"),  # 1.9 s
            A("tux", "hobbies/music/percussion/cymbal_crash.ogg"),  # 2.8 s
            A("tux", "hobbies/music/percussion/drum_tomtom_floor.ogg"),  # 2.8 s
            A("tux", "hobbies/music/percussion/drumkit.ogg"),  # 3.8 s
            # bank 4
            A("abc", "cymbals.ogg"),  # 2.8 s
            A("scr", "Percussion/CymbalCrash.wav"),  # 1.1 s
            A("scr", "Percussion/RideCymbal.wav"),  # 0.7 s
        ],
        gm=["drums"],
    ),
    "tools": C(
        "Tools",
        "visual",
        stamps=[
            "household/tools/saw",
            "household/tools/hammer",
            "household/tools/mallet_metal",
        ],
        recordings=[
            B("gc", "mining.rcc::pickaxe.wav"),  # 0.9 s
            A("osfx", "opensfx.cat::33"),  # 2.6 s
            A("osfx", "opensfx.cat::39"),  # 2.4 s
            A("osfx", "opensfx.cat::40"),  # 3.9 s
            A("osfx", "opensfx.cat::56"),  # 2.7 s
            A("tux", "household/tools/hammer.ogg"),  # 0.2 s
            A("tux", "household/tools/mallet_metal.ogg"),  # 0.2 s
            A("tux", "household/tools/saw.ogg"),  # 1.3 s
            # bank 4
            B("wl", "sound/atlanteans/saw/benchsaw_00.ogg", "widelands_benchsaw"),  # 10.6 s
            B("wl", "sound/atlanteans/saw/benchsaw_01.ogg", "widelands_benchsaw"),  # 9.7 s
            B("wl", "sound/atlanteans/saw/benchsaw_02.ogg", "widelands_benchsaw"),  # 11.4 s
            B("wl", "sound/atlanteans/saw/sawing_00.ogg", "widelands_sawing"),  # 5.2 s
            B("wl", "sound/atlanteans/saw/sawing_01.ogg", "widelands_sawing"),  # 5.1 s
            B("wl", "sound/atlanteans/saw/sawing_02.ogg", "widelands_sawing"),  # 6.8 s
            B("wl", "sound/hammering/hammering_00.ogg", "widelands_hammering"),  # 1.6 s
            B("wl", "sound/hammering/hammering_01.ogg", "widelands_hammering"),  # 2.0 s
            B("wl", "sound/hammering/hammering_02.ogg", "widelands_hammering"),  # 1.4 s
            B("wl", "sound/hammering/geologist_hammer.ogg"),  # 1.6 s
            B("wl", "sound/smiths/smith_00.ogg", "widelands_smith"),  # 3.2 s
            B("wl", "sound/smiths/smith_01.ogg", "widelands_smith"),  # 7.7 s
            B("wl", "sound/smiths/smith_02.ogg", "widelands_smith"),  # 10.3 s
            B("wl", "sound/smiths/sharpening.ogg"),  # 9.1 s
            B("wl", "sound/sawmill/sawmill_00.ogg", "widelands_sawmill"),  # 3.0 s
            B("wl", "sound/sawmill/sawmill_01.ogg", "widelands_sawmill"),  # 3.4 s
            B("sim", "buzzsaw.wav"),  # 5.6 s
            B("sim", "jackhammer.wav"),  # 0.7 s
        ],
    ),
    "car": C(
        "Car",
        "visual",
        stamps=[
            "vehicles/auto/beetle",
            "vehicles/auto/sedan",
            "vehicles/auto/sportscar2",
            "vehicles/race/indycar",
        ],
        recordings=[
            A("gc", "memory-sound.rcc::LRStartAndStopCarEngine1LACut.ogg"),  # 4.9 s
            A("gc", "traffic.rcc::car.wav"),  # 0.5 s
            A("osfx", "opensfx.cat::35"),  # 0.7 s
            B("s3d", "apoc/data/wav/misc/carhorn1.wav", "s3d_carhorn"),  # 1.0 s
            B("s3d", "apoc/data/wav/misc/carhorn2.wav", "s3d_carhorn"),  # 0.9 s
            B("s3d", "apoc/data/wav/misc/carhorn3.wav", "s3d_carhorn"),  # 0.9 s
            B("s3d", "apoc/data/wav/misc/carhorn4.wav", "s3d_carhorn"),  # 1.8 s
            B("s3d", "apoc/data/wav/misc/carhorn5.wav", "s3d_carhorn"),  # 1.8 s
            B("s3d", "apoc/data/wav/misc/carhorn6.wav", "s3d_carhorn"),  # 1.1 s
            # bank 4
            A("scr", "Effects/CarPassing.wav"),  # 6.9 s
            B("mic", "honkhonk-low.wav", "micropolis_honk"),  # 0.9 s
            B("mic", "honkhonk-med.wav", "micropolis_honk"),  # 0.8 s
            B("mic", "honkhonk-high.wav", "micropolis_honk"),  # 0.7 s
            B("mic", "honkhonk-hi.wav", "micropolis_honk"),  # 0.7 s
        ],
    ),
    "truck": C(
        "Truck",
        "visual",
        stamps=[
            "vehicles/auto/truck",
            "vehicles/construction/dumper",
            "vehicles/garbagetruck",
            "vehicles/masstransit/green_korean_bus",
        ],
        recordings=[
            A("osfx", "opensfx.cat::25"),  # 4.0 s
            A("osfx", "opensfx.cat::26"),  # 4.0 s
            A("osfx", "opensfx.cat::27"),  # 2.9 s
            A("osfx", "opensfx.cat::28"),  # 2.8 s
            # bank 4
            B("sim", "truck.wav"),  # 2.6 s
            B("sim", "bus.wav"),  # 3.7 s
            B("sim", "diesel.wav"),  # 1.8 s
        ],
    ),
    "airplane": C(
        "Aircraft",
        "visual",
        stamps=[
            "military/vehicles/f22_raptor",
            "vehicles/flight/planes/747",
        ],
        recordings=[
            A("osfx", "opensfx.cat::8"),  # 3.1 s
            A("osfx", "opensfx.cat::9"),  # 3.3 s
            A("osfx", "opensfx.cat::59"),  # 4.0 s
            A("osfx", "opensfx.cat::61"),  # 3.1 s
            A("osfx", "opensfx.cat::69"),  # 3.8 s
            B("s3d", "apoc/data/wav/misc/cessna.wav"),  # 10.2 s
            B("s3d", "none/data/wav/misc/f16_1.wav", "s3d_f16"),  # 9.0 s
            B("s3d", "none/data/wav/misc/f16_2.wav", "s3d_f16"),  # 11.0 s
            B("s3d", "none/data/wav/misc/f18_1.wav", "s3d_f18"),  # 10.5 s
            B("s3d", "none/data/wav/misc/f18_2.wav", "s3d_f18"),  # 4.4 s
            B("s3d", "none/data/wav/misc/jet.wav"),  # 24.8 s
            B("s3d", "none/data/wav/misc/t38.wav"),  # 6.9 s
            B("sar", "sounds/jet_engine_inside.wav", "sar_jet_engine_inside"),  # 5.8 s
            B("sar", "sounds/jet_engine_inside2.wav", "sar_jet_engine_inside"),  # 6.6 s
            B("sar", "sounds/jet_engine_inside_old.wav"),  # 4.0 s
            B("sar", "sounds/jet_engine_outside.wav"),  # 4.6 s
            B("sar", "sounds/jet_engine_shutdown.wav", "sar_jet_engine_shutdown"),  # 19.5 s
            B("sar", "sounds/jet_engine_shutdown2.wav", "sar_jet_engine_shutdown"),  # 2.0 s
            B("sar", "sounds/jet_engine_shutdown3.wav", "sar_jet_engine_shutdown"),  # 8.9 s
            B("sar", "sounds/jet_engine_start.wav", "sar_jet_engine_start"),  # 19.6 s
            B("sar", "sounds/jet_engine_start2.wav", "sar_jet_engine_start"),  # 10.0 s
            # bank 4
            A("abc", "airplane.ogg"),  # 1.6 s
            B("sim", "planelow.wav"),  # 3.3 s
        ],
    ),
    "man": C(
        "Male speech, man speaking",
        "visual",
        stamps=[
            "people/fireman200b",
            "people/fireman240a",
            "military/paratrooper",
        ],
        speech=["bg", "ca", "da", "fr", "lt", "nl", "ru"],
    ),
    # -------- openset
    "elephant": C(
        "Elephant",
        "openset",
        stamps=[
            "animals/mammals/elephant",
        ],
        recordings=[
            A("tux", "animals/mammals/elephant.ogg"),  # 2.0 s
            # bank 4
            A("abc", "elephant.ogg"),  # 1.6 s
        ],
    ),
    "ape": C(
        "Primate",
        "openset",
        stamps=[
            "animals/mammals/apes/chimp",
            "animals/mammals/apes/gorilla",
        ],
        recordings=[
            A("osfx", "opensfx.cat::68"),  # 1.8 s
            A("tux", "animals/mammals/apes/chimp.ogg"),  # 2.8 s
            A("tux", "animals/mammals/apes/gorilla.ogg"),  # 2.0 s
            # bank 4
            A("abc", "chimpanzee.ogg"),  # 1.4 s
            A("abc", "little_monkey.ogg"),  # 1.8 s
        ],
    ),
    "bassoon": C(
        "Bassoon",
        "openset",
        stamps=[
            "hobbies/music/wind/bassoon",
        ],
        recordings=[
            A("tux", "hobbies/music/wind/bassoon.ogg"),  # 8.1 s
        ],
        gm=[70],
    ),
    "frog": C(
        "Frog",
        "openset",
        stamps=[
            "animals/amphibians/frog",
        ],
        recordings=[
            A("gc", "memory-sound.rcc::LRFrogsInPondDuringStormLACut.ogg"),  # 4.1 s
            B("pk2", "sprites/frog_att.wav"),  # 0.4 s
            B("pk2", "sprites/frog_dmg.wav"),  # 0.3 s
            B("pk2", "sprites/frog_ko.wav"),  # 0.3 s
            B("s3d", "none/data/wav/misc/frogs.wav"),  # 35.7 s
            A("tux", "animals/amphibians/frog.ogg"),  # 1.5 s
            # bank 4
            A("abc", "frog.ogg"),  # 0.7 s
            B("wl", "sound/animals/frog.ogg"),  # 3.2 s
        ],
    ),
    "whale": C(
        "Whale vocalization",
        "openset",
        stamps=[
            "animals/mammals/aquatic/dolphin",
            "animals/mammals/aquatic/orca",
            "animals/mammals/aquatic/sea_lion",
            "animals/mammals/aquatic/whale",
        ],
        recordings=[
            A("tux", "animals/mammals/aquatic/dolphin.ogg"),  # 4.2 s
            A("tux", "animals/mammals/aquatic/orca.ogg"),  # 1.5 s
            A("tux", "animals/mammals/aquatic/sea_lion.ogg"),  # 1.0 s
            A("tux", "animals/mammals/aquatic/whale.ogg"),  # 5.1 s
            # bank 4
            A("abc", "whale.ogg"),  # 1.5 s
            A("abc", "dolphin.ogg"),  # 0.9 s
            A("scr", "Animal/SeaLion.mp3"),  # 1.3 s
        ],
    ),
    "deer": C(
        "Deer",
        "openset",
        stamps=[
            "animals/mammals/deer/caribou",
            "animals/mammals/deer/deer",
            "animals/mammals/deer/doe",
            "animals/mammals/deer/wapiti",
        ],
        recordings=[
            A("tux", "animals/mammals/deer/caribou.ogg"),  # 4.5 s
            A("tux", "animals/mammals/deer/deer.ogg"),  # 3.2 s
            A("tux", "animals/mammals/deer/doe.ogg"),  # 4.3 s
            # bank 4
            A("abc", "deer.ogg"),  # 3.7 s
            A("abc", "moose.ogg"),  # 1.5 s
            B("wl", "sound/animals/moose_00.ogg", "widelands_moose"),  # 2.6 s
            B("wl", "sound/animals/moose_01.ogg", "widelands_moose"),  # 3.1 s
            B("wl", "sound/animals/stag_00.ogg", "widelands_stag"),  # 2.8 s
            B("wl", "sound/animals/stag_01.ogg", "widelands_stag"),  # 2.8 s
        ],
    ),
    # -------- audio
    "woman": C(
        "Female speech, woman speaking",
        "audio",
        speech=["be", "el", "es", "ml", "ro"],
    ),
    "goat": C(  # Tux Paint files its goats beside the sheep; bank 3 drew them as sheep
        "Goat",
        "audio",
        recordings=[
            A("tux", "animals/mammals/bovines/goat.ogg"),  # 0.7 s
            A("tux", "animals/mammals/bovines/mountaingoat.ogg"),  # 0.7 s
        ],
    ),
    "wolf": C(
        "Canidae, dogs, wolves",
        "audio",
        recordings=[
            B("lug", "Growl.ogg", "lug_growl"),  # 1.3 s
            B("lug", "Growl2.ogg", "lug_growl"),  # 1.1 s
            B("lug", "Snarl.ogg", "lug_snarl"),  # 0.4 s
            B("lug", "Snarl2.ogg", "lug_snarl"),  # 0.3 s
            B("s3d", "none/data/wav/misc/wolf.wav"),  # 4.6 s
            A("tux", "animals/mammals/dogs/fox.ogg"),  # 1.2 s
            B("wes", "core/sounds/wolf-die-1.ogg", "wes_wolf_die"),  # 1.2 s
            B("wes", "core/sounds/wolf-die-2.ogg", "wes_wolf_die"),  # 1.9 s
            B("wes", "core/sounds/wolf-die-3.ogg", "wes_wolf_die"),  # 1.2 s
            B("wes", "core/sounds/wolf-die-4.ogg", "wes_wolf_die"),  # 1.7 s
            B("wes", "core/sounds/wolf-growl-1.ogg", "wes_wolf_growl"),  # 1.0 s
            B("wes", "core/sounds/wolf-growl-2.ogg", "wes_wolf_growl"),  # 0.9 s
            B("wes", "core/sounds/wolf-growl-3.ogg", "wes_wolf_growl"),  # 0.8 s
            B("wes", "core/sounds/wolf-growl-4.ogg", "wes_wolf_growl"),  # 0.9 s
            # bank 4
            A("abc", "wolf.ogg"),  # 2.3 s
            A("scr", "Animal/WolfHowl.wav"),  # 3.5 s
            B("wl", "sound/animals/wolf_00.ogg", "widelands_wolf"),  # 3.2 s
            B("wl", "sound/animals/wolf_01.ogg", "widelands_wolf"),  # 4.6 s
            B("wl", "sound/animals/wolf_02.ogg", "widelands_wolf"),  # 3.6 s
            B("wl", "sound/animals/coyote_00.ogg", "widelands_coyote"),  # 4.2 s
            B("wl", "sound/animals/coyote_01.ogg", "widelands_coyote"),  # 5.0 s
        ],
    ),
    "cat": C(
        "Cat",
        "audio",
        recordings=[
            A("gc", "explore_farm_animals.rcc::animals/cat.ogg"),  # 2.2 s
            A("tux", "seasonal/halloween/blackcat.ogg"),  # 1.7 s
            # bank 4
            A("abc", "cat.ogg"),  # 0.5 s
            A("scr", "Animal/Cat.mp3"),  # 0.4 s
            A("scr", "Animal/Meow.wav"),  # 0.6 s
            A("scr", "Animal/Kitten.wav"),  # 0.8 s
        ],
    ),
    "owl": C(
        "Owl",
        "audio",
        recordings=[
            A("gc", "explore_farm_animals.rcc::animals/owl.ogg"),  # 2.3 s
            A("tux", "animals/birds/owl.ogg"),  # 1.2 s
            # bank 4
            A("abc", "owl.ogg"),  # 0.8 s
            A("abc", "eagle-owl.ogg"),  # 1.2 s
            A("scr", "Animal/Owl.wav"),  # 0.7 s
        ],
    ),
    "bird_of_prey": C(
        "Bird of prey",
        "audio",
        recordings=[
            B("lug", "Hawk.ogg"),  # 2.0 s
            A("tux", "animals/birds/vulture.ogg"),  # 3.0 s
        ],
    ),
    "bat": C(
        "Bat",
        "audio",
        recordings=[
            B("s3d", "none/data/wav/misc/bats1.wav", "s3d_bats"),  # 2.8 s
            B("s3d", "none/data/wav/misc/bats2.wav", "s3d_bats"),  # 2.8 s
            B("s3d", "none/data/wav/misc/bats3.wav", "s3d_bats"),  # 3.8 s
            A("tux", "seasonal/halloween/bat_left.ogg"),  # 0.5 s
            B("wes", "core/sounds/bat-flapping.wav"),  # 0.6 s
        ],
    ),
    "bee": C(
        "Bee, wasp, etc.",
        "audio",
        recordings=[
            B("pk2", "sprites/bee.wav"),  # 0.9 s
            B("pk2", "sprites/beehive.wav"),  # 1.1 s
            B("s3d", "apoc/data/wav/explosions/bees.wav"),  # 6.7 s
            A("tux", "animals/insects/bee.ogg"),  # 6.5 s
            A("tux", "animals/insects/hornet.ogg"),  # 2.2 s
        ],
    ),
    "insect": C(
        "Insect",
        "audio",
        recordings=[
            A("tux", "animals/insects/grasshopper.ogg"),  # 2.8 s
            A("tux", "animals/insects/mosquito.ogg"),  # 3.9 s
            B("wes", "core/sounds/ambient/night.ogg"),  # 5.7 s
            # bank 4
            A("abc", "grasshopper.ogg"),  # 0.5 s
            A("scr", "Animal/Cricket.wav"),  # 0.2 s
            A("scr", "Animal/Crickets.wav"),  # 4.1 s
            B("wl", "sound/animals/crickets1_00.ogg"),  # 2.4 s
        ],
    ),
    "rodent": C(
        "Rodents, rats, mice",
        "audio",
        recordings=[
            A("tux", "animals/mammals/badger.ogg"),  # 7.0 s
            A("tux", "animals/mammals/ferret.ogg"),  # 2.0 s
            A("tux", "animals/mammals/rodents/mouse.ogg"),  # 1.3 s
            A("tux", "animals/mammals/rodents/rabbit.ogg"),  # 2.6 s
            A("tux", "animals/mammals/rodents/squirrel.ogg"),  # 1.0 s
            # bank 4
            A("abc", "hamster.ogg"),  # 0.3 s
            A("abc", "mouse.ogg"),  # 1.8 s
            A("abc", "squirrel.ogg"),  # 2.3 s
        ],
    ),
    "bear": C(
        "Bear",
        "audio",
        recordings=[
            A("tux", "animals/mammals/bears/bear.ogg"),  # 3.4 s
            # bank 4
            A("abc", "bear.ogg"),  # 2.2 s
        ],
    ),
    "camel": C(
        "Camel",
        "audio",
        recordings=[
            A("tux", "animals/mammals/camel/camel.ogg"),  # 6.1 s
            A("tux", "animals/mammals/camel/dromedary.ogg"),  # 3.5 s
        ],
    ),
    "koala": C(
        "Koala",
        "audio",
        recordings=[
            A("tux", "animals/marsupials/koala.ogg"),  # 3.0 s
            # bank 4
            A("abc", "koala.ogg"),  # 2.6 s
        ],
    ),
    "hippopotamus": C(
        "Hippopotamus",
        "audio",
        recordings=[
            A("tux", "animals/mammals/hippopotamus.ogg"),  # 1.9 s
        ],
    ),
    "tabla": C(
        "Tabla",
        "audio",
        recordings=[
            A("gc", "instruments.rcc::bongo.ogg"),  # 7.7 s
            A("spi", "loop_tabla.flac"),  # 10.7 s
            A("spi", "tabla_dhec.flac"),  # 0.3 s
            A("spi", "tabla_ghe1.flac", "spi_tabla_ghe"),  # 0.6 s
            A("spi", "tabla_ghe2.flac", "spi_tabla_ghe"),  # 2.7 s
            A("spi", "tabla_ghe3.flac", "spi_tabla_ghe"),  # 2.4 s
            A("spi", "tabla_ghe4.flac", "spi_tabla_ghe"),  # 0.8 s
            A("spi", "tabla_ghe5.flac", "spi_tabla_ghe"),  # 3.6 s
            A("spi", "tabla_ghe6.flac", "spi_tabla_ghe"),  # 3.6 s
            A("spi", "tabla_ghe7.flac", "spi_tabla_ghe"),  # 2.2 s
            A("spi", "tabla_ghe8.flac", "spi_tabla_ghe"),  # 0.6 s
            A("spi", "tabla_ke1.flac", "spi_tabla_ke"),  # 0.0 s
            A("spi", "tabla_ke2.flac", "spi_tabla_ke"),  # 0.0 s
            A("spi", "tabla_ke3.flac", "spi_tabla_ke"),  # 0.1 s
            A("spi", "tabla_na.flac"),  # 0.7 s
            A("spi", "tabla_na_o.flac"),  # 1.5 s
            A("spi", "tabla_na_s.flac"),  # 0.2 s
            A("spi", "tabla_re.flac"),  # 0.3 s
            A("spi", "tabla_tas1.flac", "spi_tabla_tas"),  # 1.1 s
            A("spi", "tabla_tas2.flac", "spi_tabla_tas"),  # 1.4 s
            A("spi", "tabla_tas3.flac", "spi_tabla_tas"),  # 1.2 s
            A("spi", "tabla_te1.flac", "spi_tabla_te"),  # 0.2 s
            A("spi", "tabla_te2.flac", "spi_tabla_te"),  # 0.3 s
            A("spi", "tabla_te_m.flac"),  # 0.3 s
            A("spi", "tabla_te_ne.flac"),  # 0.2 s
            A("spi", "tabla_tun1.flac", "spi_tabla_tun"),  # 2.3 s
            A("spi", "tabla_tun2.flac", "spi_tabla_tun"),  # 2.7 s
            A("spi", "tabla_tun3.flac", "spi_tabla_tun"),  # 2.1 s
            B("wes", "core/sounds/ambient/wardrums.ogg"),  # 15.1 s
        ],
    ),
    "percussion": C(
        "Percussion",
        "audio",
        recordings=[
            A("gc", "instruments.rcc::castanets.ogg"),  # 7.2 s
            A("gc", "instruments.rcc::maracas.ogg"),  # 7.1 s
            A("gc", "instruments.rcc::tambourine.ogg"),  # 7.1 s
            A("gc", "instruments.rcc::triangle.ogg"),  # 6.8 s
            A("lmms", "drums/shaker01.ogg", "lmms_shaker"),  # 0.0 s
            A("lmms", "drums/shaker02.ogg", "lmms_shaker"),  # 0.1 s
            A("lmms", "drums/shaker03.ogg", "lmms_shaker"),  # 0.1 s
            A("spi", "drum_cowbell.flac"),  # 0.3 s
        ],
    ),
    "timpani": C(
        "Timpani",
        "audio",
        recordings=[
            A("gc", "instruments.rcc::timpani.ogg"),  # 7.1 s
            # bank 4
            A("abc", "timpani.ogg"),  # 2.1 s
        ],
        gm=[47],
    ),
    "xylophone": C(
        "Marimba, xylophone",
        "audio",
        recordings=[
            B("gc", "melody.rcc::xylofon_son1.wav", "gc_xylofon_son"),  # 0.4 s
            B("gc", "melody.rcc::xylofon_son2.wav", "gc_xylofon_son"),  # 0.5 s
            B("gc", "melody.rcc::xylofon_son3.wav", "gc_xylofon_son"),  # 0.5 s
            B("gc", "melody.rcc::xylofon_son4.wav", "gc_xylofon_son"),  # 0.5 s
            # bank 4
            B("sic", "xylofon.wav"),  # 2.1 s
        ],
        gm=[12, 13],
    ),
    "bell": C(
        "Bell",
        "audio",
        recordings=[
            A("csq", "bell.aiff"),  # 2.9 s
            A("gc", "memory-sound.rcc::LRBuddhist_gong_05_LA.ogg"),  # 3.2 s
            A("spi", "perc_bell.flac", "spi_perc_bell"),  # 6.7 s
            A("spi", "perc_bell2.flac", "spi_perc_bell"),  # 5.5 s
            A("fdo", "bell.oga"),  # 0.1 s
            # bank 4
            A("scr", "Effects/BellToll.wav"),  # 3.9 s
        ],
        gm=[14],
    ),
    "piano": C(
        "Piano",
        "audio",
        recordings=[
            A("gc", "instruments.rcc::piano.ogg"),  # 11.8 s
            A("lmms", "instruments/e_piano_accord01.ogg", "lmms_e_piano_accord"),  # 3.7 s
            A("lmms", "instruments/e_piano_accord02.ogg", "lmms_e_piano_accord"),  # 6.0 s
            A("lmms", "instruments/piano01.ogg", "lmms_piano"),  # 0.9 s
            A("lmms", "instruments/piano02.ogg", "lmms_piano"),  # 10.0 s
            A("spi", "ambi_piano.flac"),  # 2.8 s
            # bank 4
            A("abc", "piano.ogg"),  # 2.1 s
            A("abc", "grand_piano.ogg"),  # 6.7 s
            B("sic", "piano-3.wav"),  # 0.7 s
        ],
        gm=[0, 1, 2, 4],
    ),
    "organ": C(
        "Organ",
        "audio",
        recordings=[
            A("gc", "instruments.rcc::organ.ogg"),  # 7.3 s
            A("lmms", "instruments/church_organ01.ogg", "lmms_church_organ"),  # 11.8 s
            A("lmms", "instruments/church_organ02.ogg", "lmms_church_organ"),  # 10.0 s
            A("lmms", "instruments/church_organ03.ogg", "lmms_church_organ"),  # 6.5 s
            A("lmms", "instruments/church_organ04.ogg", "lmms_church_organ"),  # 8.6 s
            A("lmms", "instruments/e_organ01.ogg"),  # 4.5 s
            # bank 4
            A("abc", "organ.ogg"),  # 3.0 s
        ],
        gm=[16, 19, 20],
    ),
    "accordion": C(
        "Accordion",
        "audio",
        recordings=[
            A("gc", "instruments.rcc::accordion.ogg"),  # 10.8 s
            A("gc", "instruments.rcc::harmonica.ogg"),  # 7.2 s
            # bank 4
            A("abc", "accordion.ogg"),  # 2.6 s
        ],
        gm=[21, 22],
    ),
    "flute": C(
        "Flute",
        "audio",
        recordings=[
            A("csq", "flute.wav"),  # 8.6 s
            A("gc", "instruments.rcc::flute_traversiere.ogg"),  # 10.8 s
            A("lmms", "instruments/flute01.ogg"),  # 11.4 s
            # bank 4
            A("abc", "flute.ogg"),  # 2.4 s
            A("abc", "western_concert_flute.ogg"),  # 2.4 s
        ],
        gm=[72, 73],
    ),
    "saxophone": C(
        "Saxophone",
        "audio",
        recordings=[
            A("gc", "instruments.rcc::saxophone.ogg"),  # 5.4 s
            # bank 4
            A("abc", "saxophone.ogg"),  # 1.3 s
        ],
        gm=[64, 65, 66],
    ),
    "clarinet": C(
        "Clarinet",
        "audio",
        recordings=[
            A("gc", "instruments.rcc::clarinet.ogg"),  # 7.2 s
            # bank 4
            A("abc", "clarinet.ogg"),  # 1.4 s
        ],
        gm=[71],
    ),
    "harp": C(
        "Harp",
        "audio",
        recordings=[
            A("gc", "instruments.rcc::harp.ogg"),  # 7.7 s
            # bank 4
            A("abc", "harp.ogg"),  # 1.5 s
        ],
        gm=[46],
    ),
    "banjo": C(
        "Banjo",
        "audio",
        recordings=[
            A("gc", "instruments.rcc::banjo.ogg"),  # 4.7 s
        ],
        gm=[105],
    ),
    "bass_guitar": C(
        "Bass guitar",
        "audio",
        recordings=[
            A("csq", "BassGuitarC.wav"),  # 7.2 s
            A("lmms", "instruments/bassslap01.ogg", "lmms_bassslap"),  # 0.3 s
            A("lmms", "instruments/bassslap02.ogg", "lmms_bassslap"),  # 1.7 s
        ],
        gm=[32, 33, 34],
    ),
    "choir": C(
        "Choir",
        "audio",
        recordings=[
            A("csq", "choir.wav"),  # 10.3 s
            A("spi", "ambi_choir.flac"),  # 1.6 s
        ],
        gm=[52, 53],
    ),
    "helicopter": C(
        "Helicopter",
        "audio",
        recordings=[
            B("gc", "guessnumber.rcc::helicopter.wav"),  # 1.0 s
            A("osfx", "opensfx.cat::24"),  # 2.5 s
            B("s3d", "apoc/data/wav/misc/helicopter.wav"),  # 6.9 s
            B("s3d", "none/data/wav/misc/apache_1.wav"),  # 5.9 s
            B("sar", "sounds/helicopter_engine_inside.wav"),  # 1.6 s
            B(
                "sar", "sounds/helicopter_engine_outside.wav", "sar_helicopter_engine_outside"
            ),  # 1.6 s
            B(
                "sar", "sounds/helicopter_engine_outside2.wav", "sar_helicopter_engine_outside"
            ),  # 6.3 s
            B(
                "sar", "sounds/helicopter_engine_outside3.wav", "sar_helicopter_engine_outside"
            ),  # 3.7 s
            B("sar", "sounds/helicopter_engine_shutdown.wav"),  # 20.6 s
            B("sar", "sounds/helicopter_engine_start.wav"),  # 30.1 s
            B("sar", "sounds/hh60/engine_inside.wav"),  # 2.8 s
            B("sar", "sounds/hh60/engine_shutdown.wav"),  # 20.6 s
            B("sar", "sounds/hh60/engine_start.wav"),  # 15.9 s
            B("sar", "sounds/hh65/engine_inside.wav"),  # 9.5 s
            B("sar", "sounds/hh65/engine_shutdown.wav"),  # 19.3 s
            B("sar", "sounds/hh65/engine_start.wav"),  # 42.2 s
            # bank 4
            A("abc", "helicopter.ogg"),  # 2.0 s
        ],
    ),
    "train": C(
        "Train",
        "audio",
        recordings=[
            A("gc", "memory-sound.rcc::LRTrain_slowing_down_01_LA_cut.ogg"),  # 4.8 s
            A("gc", "railroad.rcc::sounds/train.wav"),  # 2.6 s
            A("osfx", "opensfx.cat::3"),  # 2.3 s
            A("osfx", "opensfx.cat::4"),  # 2.1 s
            A("osfx", "opensfx.cat::5"),  # 2.3 s
            A("osfx", "opensfx.cat::10"),  # 2.0 s
            A("osfx", "opensfx.cat::13"),  # 1.7 s
            A("osfx", "opensfx.cat::14"),  # 2.8 s
            A("osfx", "opensfx.cat::65"),  # 2.0 s
            A("osfx", "opensfx.cat::71"),  # 2.5 s
            # bank 4
            A("abc", "train.ogg"),  # 1.6 s
            B("sim", "steam.wav"),  # 2.7 s
        ],
    ),
    "boat": C(
        "Boat, Water vehicle",
        "audio",
        recordings=[
            B("gc", "watercycle.rcc::harbor1.wav", "gc_harbor"),  # 3.4 s
            B("gc", "watercycle.rcc::harbor2.wav", "gc_harbor"),  # 4.0 s
            A("osfx", "opensfx.cat::6"),  # 2.4 s
            A("osfx", "opensfx.cat::7"),  # 3.2 s
            B("wes", "core/sounds/ambient/ship.ogg"),  # 10.0 s
            # bank 4
            B("sim", "boat-horn.wav"),  # 2.4 s
        ],
    ),
    "siren": C(
        "Siren",
        "audio",
        recordings=[
            B("s3d", "apoc/data/wav/misc/firetruck.wav"),  # 4.5 s
            B("s3d", "apoc/data/wav/misc/policecar.wav"),  # 5.5 s
            A("tux", "vehicles/emergency/firetruck.ogg"),  # 10.3 s
            # bank 4
            B("mic", "siren.wav"),  # 2.3 s
        ],
    ),
    "traffic": C(
        "Traffic noise, roadway noise",
        "audio",
        recordings=[
            B("s3d", "apoc/data/wav/misc/citysounds.wav"),  # 13.2 s
            # bank 4
            B("mic", "heavytraffic.wav"),  # 2.1 s
            A("scr", "Effects/MotorcyclePassing.wav"),  # 7.2 s
        ],
    ),
    "chopping": C(
        "Chopping (food)",
        "audio",
        recordings=[
            A("osfx", "opensfx.cat::54"),  # 1.2 s
            A("osfx", "opensfx.cat::55"),  # 2.6 s
            # bank 4
            B("wl", "sound/woodcutting/woodcutting.ogg"),  # 3.2 s
            B("sim", "tree-cutting.wav"),  # 14.0 s
        ],
    ),
    "telephone": C(
        "Telephone",
        "audio",
        recordings=[
            B("spi", "mehackit_phone1.flac", "spi_mehackit_phone"),  # 1.2 s
            B("spi", "mehackit_phone2.flac", "spi_mehackit_phone"),  # 1.3 s
            B("spi", "mehackit_phone3.flac", "spi_mehackit_phone"),  # 1.8 s
            B("spi", "mehackit_phone4.flac", "spi_mehackit_phone"),  # 1.5 s
            A("fdo", "phone-incoming-call.oga"),  # 1.5 s
            A("fdo", "phone-outgoing-busy.oga"),  # 2.9 s
            A("fdo", "phone-outgoing-calling.oga"),  # 1.2 s
        ],
        gm=[124],
    ),
    "alarm_clock": C(
        "Alarm clock",
        "audio",
        recordings=[
            A("fdo", "alarm-clock-elapsed.oga"),  # 6.1 s
        ],
    ),
    "camera": C(
        "Camera",
        "audio",
        recordings=[
            B("s3d", "none/data/wav/misc/camera.wav"),  # 0.4 s
            A("fdo", "camera-shutter.oga"),  # 0.9 s
            A("tux", "hobbies/camera_35mm.ogg"),  # 0.6 s
        ],
    ),
    "door": C(
        "Door",
        "audio",
        recordings=[
            A("gc", "canal_lock.rcc::door_close.wav"),  # 3.3 s
            A("gc", "canal_lock.rcc::door_open.wav"),  # 3.5 s
            A("gc", "memory-sound.rcc::LRDoor_Open_2_LA.ogg"),  # 3.3 s
            B("sar", "sounds/door_close.wav"),  # 0.5 s
            A("spi", "perc_door.flac"),  # 2.4 s
            # bank 4
            A("scr", "Effects/DoorClose.mp3"),  # 2.4 s
            A("scr", "Effects/DoorCreak.wav"),  # 4.9 s
        ],
    ),
    "glass": C(
        "Glass",
        "audio",
        recordings=[
            A("tux", "household/dishes/glass.ogg"),  # 1.5 s
            # bank 4
            B("sic", "glass-water-1.wav"),  # 0.8 s
        ],
    ),
    "appliance": C(
        "Domestic sounds, home sounds",
        "audio",
        recordings=[
            A("tux", "household/Washing-machine.ogg"),  # 1.0 s
            A("tux", "household/kettle.ogg"),  # 0.9 s
            A("tux", "household/toilet.ogg"),  # 2.2 s
            A("tux", "household/vacuum_cleaner.ogg"),  # 0.8 s
        ],
    ),
    "cash_register": C(
        "Cash register",
        "audio",
        recordings=[
            A("osfx", "opensfx.cat::20"),  # 1.4 s
            A("spi", "perc_till.flac"),  # 2.7 s
        ],
    ),
    "scissors": C(
        "Scissors",
        "audio",
        recordings=[
            A("tux", "household/arttools/scissors_small_closed.ogg"),  # 0.4 s
            A("tux", "household/arttools/scissors_small_open.ogg"),  # 0.4 s
        ],
    ),
    "paper": C(
        "Crumpling, crinkling",
        "audio",
        recordings=[
            A("fdo", "trash-empty.oga"),  # 1.1 s
        ],
    ),
    "rain": C(
        "Rain",
        "audio",
        recordings=[
            A("gc", "memory-sound.rcc::LRRain_in_garden_01_LA_cut.ogg"),  # 5.0 s
            B("s3d", "none/data/wav/misc/rain.wav"),  # 14.5 s
        ],
    ),
    "thunder": C(
        "Thunder",
        "audio",
        recordings=[
            B("s3d", "apoc/data/wav/explosions/thunder.wav"),  # 3.3 s
            B("s3d", "none/data/wav/misc/thunder.wav", "s3d_thunder"),  # 2.4 s
            B("s3d", "none/data/wav/misc/thunder2.wav", "s3d_thunder"),  # 5.4 s
            B("s3d", "none/data/wav/misc/thunder3.wav", "s3d_thunder"),  # 4.2 s
            B("sar", "sounds/thunder_faint.wav"),  # 3.3 s
            B("sar", "sounds/thunder_loud.wav"),  # 3.8 s
            B("sar", "sounds/thunder_moderate.wav"),  # 3.4 s
            A("tux", "naturalforces/lightningbolt.ogg"),  # 4.7 s
        ],
    ),
    "wind": C(
        "Wind",
        "audio",
        recordings=[
            B("lug", "Wind.ogg"),  # 60.1 s
            A("osfx", "opensfx.cat::52"),  # 2.7 s
            A("osfx", "opensfx.cat::57"),  # 2.7 s
        ],
    ),
    "ocean": C(
        "Ocean",
        "audio",
        recordings=[
            A("csq", "Seashore.wav"),  # 12.4 s
            B("s3d", "none/data/wav/misc/oceanwaves.wav"),  # 38.4 s
        ],
    ),
    "water": C(
        "Water",
        "audio",
        recordings=[
            B("gc", "canal_lock.rcc::water_fill.wav"),  # 3.5 s
            B("gc", "core.rcc::sounds/water.wav"),  # 3.5 s
            B("s3d", "none/data/wav/misc/splash.wav"),  # 2.7 s
        ],
    ),
    "fire": C(
        "Fire",
        "audio",
        recordings=[
            B("lug", "Fire.ogg"),  # 4.1 s
            B("wes", "core/sounds/ambient/campfire.ogg"),  # 9.6 s
            # bank 4
            A("abc", "fire.ogg"),  # 2.7 s
        ],
    ),
    "laughter": C(
        "Laughter",
        "audio",
        recordings=[
            B("wes", "campaigns/World_Conquest/sounds/witches-laugh.wav"),  # 5.0 s
            B("wes", "core/sounds/dwarf-laugh.wav"),  # 2.7 s
            # bank 4
            A("scr", "Human/Laugh-female.wav"),  # 1.2 s
            A("scr", "Human/Laugh-male1.wav", "scr_laugh_male"),  # 1.3 s
            A("scr", "Human/Laugh-male2.wav", "scr_laugh_male"),  # 2.9 s
            A("scr", "Human/Laugh-male3.mp3", "scr_laugh_male"),  # 1.4 s
        ],
    ),
    "screaming": C(
        "Screaming",
        "audio",
        recordings=[
            B("s3d", "apoc/data/wav/misc/scream1.wav", "s3d_scream"),  # 1.7 s
            B("s3d", "apoc/data/wav/misc/scream2.wav", "s3d_scream"),  # 2.5 s
            B("s3d", "apoc/data/wav/misc/scream3.wav", "s3d_scream"),  # 2.5 s
            B("s3d", "apoc/data/wav/misc/scream4.wav", "s3d_scream"),  # 1.5 s
            B("s3d", "apoc/data/wav/misc/screaming.wav"),  # 2.6 s
            # bank 4
            A("scr", "Human/Scream-female.wav"),  # 0.6 s
            A("scr", "Human/Scream-male1.wav", "scr_scream_male"),  # 0.8 s
            A("scr", "Human/Scream-male2.mp3", "scr_scream_male"),  # 1.0 s
        ],
    ),
    "applause": C(
        "Applause",
        "audio",
        recordings=[
            A("gc", "memory-sound.rcc::LRApplauses_1_LA_cut.ogg"),  # 3.2 s
            A("lmms", "misc/applause01.ogg"),  # 2.1 s
            A("osfx", "opensfx.cat::29"),  # 3.7 s
            # bank 4
            A("scr", "Percussion/HandClap.wav"),  # 0.1 s
        ],
    ),
    "cheering": C(
        "Cheering",
        "audio",
        recordings=[
            A("lmms", "misc/raving_crowd01.ogg"),  # 10.0 s
            B("s3d", "apoc/data/wav/misc/cheeringloop.wav"),  # 20.2 s
        ],
    ),
    "footsteps": C(
        "Walk, footsteps",
        "audio",
        recordings=[
            B("lug", "FootStepGrass1.ogg", "lug_footstepgrass"),  # 0.3 s
            B("lug", "FootStepGrass2.ogg", "lug_footstepgrass"),  # 0.4 s
            B("lug", "FootStepSnow1.ogg", "lug_footstepsnow"),  # 0.1 s
            B("lug", "FootStepSnow2.ogg", "lug_footstepsnow"),  # 0.2 s
            B("lug", "FootStepStone1.ogg", "lug_footstepstone"),  # 0.3 s
            B("lug", "FootStepStone2.ogg", "lug_footstepstone"),  # 0.3 s
            # bank 4
            A("scr", "Human/Footsteps-1.wav", "scr_footsteps"),  # 5.3 s
            A("scr", "Human/Footsteps-2.mp3", "scr_footsteps"),  # 2.0 s
        ],
    ),
    "explosion": C(
        "Explosion",
        "audio",
        recordings=[
            B("osfx", "opensfx.cat::18"),  # 1.6 s
            B("s3d", "apoc/data/wav/explosions/exp.wav"),  # 2.0 s
            B("s3d", "none/data/wav/explosions/large.wav"),  # 2.6 s
            B("s3d", "none/data/wav/explosions/medium.wav"),  # 1.3 s
            B("s3d", "none/data/wav/explosions/small.wav"),  # 1.1 s
            B("s3d", "none/data/wav/explosions/xlarge.wav"),  # 3.4 s
            A("tux", "seasonal/newyears/fireworks.ogg"),  # 1.4 s
        ],
    ),
    "gunshot": C(
        "Gunshot, gunfire",
        "audio",
        recordings=[
            B("s3d", "apoc/data/wav/shoot/machinegun.wav"),  # 2.7 s
            B("s3d", "apoc/data/wav/shoot/shotgun.wav"),  # 0.9 s
            B("wes", "core/sounds/gunshot.wav"),  # 0.4 s
        ],
    ),
    "heartbeat": C(
        "Heart sounds, heartbeat",
        "audio",
        recordings=[
            A("gc", "memory-sound.rcc::LRHeart_beat_01_LA.ogg"),  # 1.0 s
        ],
    ),
    "breathing": C(
        "Breathing",
        "audio",
        recordings=[
            A("lmms", "misc/breath01.ogg"),  # 5.1 s
        ],
    ),
}
