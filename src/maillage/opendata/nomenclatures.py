"""Official code lists (ANS "NOS" terminologies) used by the RPPS and the Annuaire Santé.

The RPPS extract and the Annuaire Santé FHIR API code professions, specialties and modes of
practice with the same nomenclatures; keeping them here, with their FHIR system URIs, lets the
directory, the FHIR reader and the reports agree on what "médecin généraliste" means.

Sources, checked against the ANS terminology packages (``ans.fr.terminologies`` 1.12.0,
2026-07-30, and the FSH sources of the NOS code systems):

- TRE_G15-ProfessionSante: the health professions. Psychologists (93),
  osteopaths (71), psychotherapists (72) and chiropractors (73) are "usagers de titre" in
  TRE_R95, not in G15, and are left out.
- TRE_R38-SpecialiteOrdinale (OID 1.2.250.1.213.2.28): doctors' specialties (SM**), dentists'
  (SCD**) and nurses' (SI**). Labels are the NOS labels without their "(SM)" suffix.
- TRE_R23-ModeExercice (OID 1.2.250.1.213.1.6.1.18) and TRE_R22-GenreActivite.

Note: several codes often quoted from memory are wrong: 95 is Diététicien (not Psychomotricien,
96), SM20 is Gynécologie-obstétrique and SM19 Gynécologie médicale, SM41 is Pneumologie and SM42
Psychiatrie.
"""

from __future__ import annotations

from collections import OrderedDict

_NOS = "https://mos.esante.gouv.fr/NOS"

PROFESSION_SYSTEM = f"{_NOS}/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
SPECIALTY_SYSTEM = f"{_NOS}/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
MODE_SYSTEM = f"{_NOS}/TRE_R23-ModeExercice/FHIR/TRE-R23-ModeExercice"
ACTIVITY_KIND_SYSTEM = f"{_NOS}/TRE_R22-GenreActivite/FHIR/TRE-R22-GenreActivite"
PROFESSION_CATEGORY_SYSTEM = (
    f"{_NOS}/TRE_R09-CategorieProfessionnelle/FHIR/TRE-R09-CategorieProfessionnelle"
)
SPECIALTY_TYPE_SYSTEM = f"{_NOS}/TRE_R04-TypeSavoirFaire/FHIR/TRE-R04-TypeSavoirFaire"
ACTIVITY_SECTOR_SYSTEM = f"{_NOS}/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite"
FINESS_CATEGORY_SYSTEM = (
    f"{_NOS}/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement"
)
COMMUNE_SYSTEM = f"{_NOS}/TRE_R13-Commune/FHIR/TRE-R13-Commune"

#: Identifier systems and profiles of the Annuaire Santé FHIR resources (read by
#: :mod:`maillage.opendata.fhir`, written by the directory's FHIR API): kept here, with no
#: pandas, because the FHIR views and the care apps import them when Django starts.
IDNPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
IDNST_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
SIRENE_SYSTEM = "https://sirene.fr"
RPPS_SYSTEMS = frozenset({RPPS_SYSTEM, "http://rpps.esante.gouv.fr", "http://rpps.fr"})
FINESS_SYSTEMS = frozenset(
    {FINESS_SYSTEM, "http://finess.esante.gouv.fr", "http://finess.sante.gouv.fr"}
)
SIRENE_SYSTEMS = frozenset({SIRENE_SYSTEM, "http://sirene.fr"})
IDENTIFIER_TYPE_SYSTEM = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
ADDRESS_INSEE_CODE_EXTENSION = (
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
)

#: meta.profile of the ANS public-data ("DP") and restricted-data ("DR") profiles.
PROFILE_BASE = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition"
PROFILES = {
    "Practitioner": (f"{PROFILE_BASE}/as-dp-practitioner", f"{PROFILE_BASE}/as-dr-practitioner"),
    "PractitionerRole": (
        f"{PROFILE_BASE}/as-dp-practitionerrole",
        f"{PROFILE_BASE}/as-dr-practitionerrole",
    ),
    "Organization": (f"{PROFILE_BASE}/as-dp-organization", f"{PROFILE_BASE}/as-dr-organization"),
}

#: TRE_G15-ProfessionSante: code → label.
PROFESSIONS: dict[str, str] = {
    "10": "Médecin",
    "21": "Pharmacien",
    "26": "Audioprothésiste",
    "28": "Opticien-Lunetier",
    "31": "Assistant dentaire",
    "32": "Physicien médical",
    "40": "Chirurgien-Dentiste",
    "50": "Sage-Femme",
    "60": "Infirmier",
    "69": "Infirmier psychiatrique",
    "70": "Masseur-Kinésithérapeute",
    "80": "Pédicure-Podologue",
    "81": "Orthoprothésiste",
    "82": "Podo-Orthésiste",
    "83": "Orthopédiste-Orthésiste",
    "84": "Oculariste",
    "85": "Epithésiste",
    "86": "Technicien de laboratoire médical",
    "91": "Orthophoniste",
    "92": "Orthoptiste",
    "94": "Ergothérapeute",
    "95": "Diététicien",
    "96": "Psychomotricien",
    "98": "Manipulateur ERM",
}

#: TRE_R38-SpecialiteOrdinale: code → label (doctors SM, dentists SCD, nurses SI).
SPECIALTIES: dict[str, str] = {
    "SCD01": "Orthopédie dento-faciale",
    "SCD02": "Chirurgie orale",
    "SCD03": "Médecine bucco-dentaire",
    "SI01": "Exercice infirmier en pratique avancée pathologies chroniques stabilisées",
    "SI02": "Exercice infirmier en pratique avancée oncologie et hémato-oncologie",
    "SI03": "Exercice infirmier en pratique avancée maladie rénale chronique",
    "SI04": "Exercice infirmier en pratique avancée santé mentale",
    "SI05": "Exercice infirmier en pratique avancée urgences",
    "SM01": "Anatomie et Cytologie pathologiques",
    "SM02": "Anesthésie-réanimation",
    "SM03": "Biologie médicale",
    "SM04": "Cardiologie et Maladies vasculaires",
    "SM05": "Chirurgie générale",
    "SM06": "Chirurgie maxillo-faciale",
    "SM07": "Chirurgie maxillo-faciale et Stomatologie",
    "SM08": "Chirurgie orthopédique et Traumatologie",
    "SM09": "Chirurgie infantile",
    "SM10": "Chirurgie plastique reconstructrice et esthétique",
    "SM11": "Chirurgie thoracique et cardio-vasculaire",
    "SM12": "Chirurgie urologique",
    "SM13": "Chirurgie vasculaire",
    "SM14": "Chirurgie viscérale et digestive",
    "SM15": "Dermatologie et vénéréologie",
    "SM16": "Endocrinologie et métabolisme",
    "SM17": "Génétique médicale",
    "SM18": "Gériatrie",
    "SM19": "Gynécologie médicale",
    "SM20": "Gynécologie-obstétrique",
    "SM21": "Hématologie",
    "SM22": "Hématologie, option Maladie du sang",
    "SM23": "Hématologie, option Onco-hématologie",
    "SM24": "Gastro-entérologie et Hépatologie",
    "SM25": "Médecine du travail",
    "SM26": "Qualifié en Médecine générale",
    "SM27": "Médecine interne",
    "SM28": "Médecine nucléaire",
    "SM29": "Médecine physique et réadaptation",
    "SM30": "Néphrologie",
    "SM31": "Neuro-chirurgie",
    "SM32": "Neurologie",
    "SM33": "Neuro-psychiatrie",
    "SM34": "ORL et Chirurgie cervico-faciale",
    "SM35": "Oncologie, option Onco-hématologie",
    "SM36": "Oncologie, option médicale",
    "SM37": "Oncologie, option radiothérapie",
    "SM38": "Ophtalmologie",
    "SM39": "Oto-rhino-laryngologie",
    "SM40": "Pédiatrie",
    "SM41": "Pneumologie",
    "SM42": "Psychiatrie",
    "SM43": "Psychiatrie, option enfant et adolescent",
    "SM44": "Radio-diagnostic",
    "SM45": "Radio-thérapie",
    "SM46": "Médecine intensive-réanimation",
    "SM47": "Recherche médicale",
    "SM48": "Rhumatologie",
    "SM49": "Santé publique et Médecine sociale",
    "SM50": "Stomatologie",
    "SM51": "Gynéco-obstétrique et Gynéco-médicale, option Gynéco-obstétrique",
    "SM52": "Gynéco-obstétrique et Gynéco-médicale, option Gynéco-médicale",
    "SM53": "Spécialiste en Médecine générale",
    "SM54": "Médecine générale",
    "SM55": "Radio-diagnostic et Radio-thérapie",
    "SM56": "Chirurgie orale",
    "SM57": "Allergologie",
    "SM58": "Maladies infectieuses et tropicales",
    "SM59": "Médecine d'urgence",
    "SM60": "Médecine légale et expertises médicales",
    "SM61": "Médecine vasculaire",
    "SM62": "Endocrinologie, diabétologie, nutrition",
    "SM63": "Biologie médicale option biologie générale",
    "SM64": "Biologie médicale option médecine moléculaire, génétique et pharmacologie",
    "SM65": "Biologie médicale option hématologie et immunologie",
    "SM66": "Biologie médicale option agents infectieux",
    "SM67": "Biologie médicale option biologie de la reproduction",
    "SM68": "Chirurgie maxillo-faciale (réforme 2017)",
    "SM69": "Chirurgie pédiatrique option chirurgie viscérale pédiatrique",
    "SM70": "Chirurgie pédiatrique option orthopédie pédiatrique",
    "SM71": "Hématologie (réforme 2017)",
    "SM72": "Médecine interne et immunologie clinique",
    "SM73": "Médecine cardiovasculaire",
    "SM74": "Radiologie et imagerie médicale",
    "SM75": "Santé publique",
    "SM76": "Anesthésie-réanimation option anesthésie-pédiatrique",
    "SM77": "Chirurgie maxillo-faciale option orthodontie des dysmorphies maxillo-faciales",
    "SM78": "Chirurgie viscérale et digestive option endoscopie chirurgicale",
    "SM79": "Médecine cardiovasculaire option cardiologie interventionnelle",
    "SM80": "Médecine cardiovasculaire option imagerie cardio d'expert",
    "SM81": (
        "Médecine cardiovasculaire option rythmologie interventionnelle et stimulation cardiaque"
    ),
    "SM82": "Médecine intensive-réanimation option réanimation pédiatrique",
    "SM83": "Néphrologie option soins intensifs néphrologiques",
    "SM84": "Neurologie option traitement interventionnel de l'ischémie cérébrale aigüe",
    "SM85": "Ophtalmologie option chirurgie ophtalmopédiatrique et strabologique",
    "SM86": "ORL et chirurgie cervico-faciale option audiophonologie",
    "SM87": "Pédiatrie option néonatologie",
    "SM88": "Pédiatrie option neuropédiatrie",
    "SM89": "Pédiatrie option pneumopédiatrie",
    "SM90": "Pédiatrie option réanimation pédiatrique",
    "SM91": "Pneumologie option soins intensifs respiratoires",
    "SM92": "Psychiatrie option enfant et adolescent",
    "SM93": "Psychiatrie option psychiatrie de la personne âgée",
    "SM94": "Radiologie et imagerie médicale option radiologie interventionnelle avancée",
    "SM95": "Santé publique option administration de la santé",
}

#: TRE_R23-ModeExercice: code → label.
MODES: dict[str, str] = {
    "L": "Libéral, indépendant, artisan, commerçant",
    "S": "Salarié",
    "B": "Bénévole",
}
#: The same modes as a patient reads them on an entry page (the official labels above stay in
#: the API and FHIR, where clients expect the terminology's own display).
MODE_DISPLAY: dict[str, str] = {
    "L": "Libéral (en cabinet ou en société)",
    "S": "Salarié",
    "B": "Bénévole",
}

#: TRE_R22-GenreActivite: the codes in current use that the directory cares about.
ACTIVITY_KINDS: dict[str, str] = {
    "GENR01": "Activité de soin et de pharmacie",
    "GENR03": "Remplacement dans une activité de soins",
    "GENR04": "Activité non soignante",
    "GENR06": "Délégation de responsabilité pour continuité de service",
    "GENR08": "Coordination et orientation",
    "GENR13": "Activité médico-administrative",
    "GENR99": "Autre activité",
}

#: The report's profession groups, in the order of the offer table of the CPTS Saint-Dizier
#: health project ("2.3.1 Offre globale synthétisée"): key → (French label, TRE_G15 profession
#: code, TRE_R38 specialty codes or None for "whatever the specialty"). Doctors' groups list
#: every R38 code of the specialty, including the options created by the 2017 reform (e.g.
#: SM73 Médecine cardiovasculaire). Psychologists are not a G15 profession and are absent.
PROFESSION_GROUPS: OrderedDict[str, tuple[str, str, frozenset[str] | None]] = OrderedDict(
    [
        (
            "medecin_generaliste",
            ("Médecins généralistes", "10", frozenset({"SM26", "SM53", "SM54"})),
        ),
        ("infirmier", ("Infirmiers", "60", None)),
        ("masseur_kinesitherapeute", ("Masseurs-kinésithérapeutes", "70", None)),
        ("chirurgien_dentiste", ("Chirurgiens-dentistes", "40", None)),
        ("pediatre", ("Pédiatres", "10", frozenset({"SM40", "SM87", "SM88", "SM89", "SM90"}))),
        ("sage_femme", ("Sages-femmes", "50", None)),
        ("orthophoniste", ("Orthophonistes", "91", None)),
        ("pedicure_podologue", ("Pédicures-podologues", "80", None)),
        ("dieteticien", ("Diététiciens", "95", None)),
        ("psychomotricien", ("Psychomotriciens", "96", None)),
        ("orthoptiste", ("Orthoptistes", "92", None)),
        ("gynecologue", ("Gynécologues", "10", frozenset({"SM19", "SM20", "SM51", "SM52"}))),
        ("ophtalmologue", ("Ophtalmologues", "10", frozenset({"SM38", "SM85"}))),
        ("pneumologue", ("Pneumologues", "10", frozenset({"SM41", "SM91"}))),
        ("dermatologue", ("Dermatologues", "10", frozenset({"SM15"}))),
        (
            "cardiologue",
            ("Cardiologues", "10", frozenset({"SM04", "SM73", "SM79", "SM80", "SM81"})),
        ),
        (
            "psychiatre",
            ("Psychiatres", "10", frozenset({"SM33", "SM42", "SM43", "SM92", "SM93"})),
        ),
        ("pharmacien", ("Pharmaciens", "21", None)),
    ]
)


def profession_group(profession_code: str | None, specialty_code: str | None) -> str | None:
    """The :data:`PROFESSION_GROUPS` key of a profession/specialty pair, or None.

    A doctor with no specialty, or one outside the groups (a surgeon, say), belongs to no group.
    """
    for key, (_label, profession, specialties) in PROFESSION_GROUPS.items():
        if profession_code != profession:
            continue
        if specialties is None or specialty_code in specialties:
            return key
    return None
