"""The demo directory: the dispositifs and the Actions library stated by the seed documents.

A demonstration is only worth something if a Haute-Marne coordinator recognises her territory in
it, so every record here comes from what the five seed documents (``../shared/seeds/``) state, and
its ``source_note`` names the seed and the section it comes from:

* seed 000 — dossier de presse de la délégation territoriale ARS de la Haute-Marne (25/09/2019);
* seed 001 — conférence santé Centre et Sud Haute-Marne, démarche de concertation (mai 2021);
* seed 002 — feuille de route départementale Centre Sud Haute-Marne (24/11/2021);
* seed 003 — projet de santé de la CPTS Saint-Dizier Der & Blaise (novembre 2019);
* seed 004 — conférence santé Centre et Sud Haute-Marne (15/07/2021).

What is real and what is reconstructed:

* Real structures are linked to their FINESS établissement (FINESS 2021 as shipped); the number is
  also kept in ``Scheme.finess`` so that a database imported without that département still says
  which établissement is meant (the link is then left empty and counted in ``report.skipped``).
  An EHPAD or MSP named only by its commune was identified as the only établissement of that
  FINESS category in the commune; the source note says so.
* No phone number, address or person is invented. Contacts are the ones the seeds publish (the
  CPTS Saint-Dizier cover page); addresses appear only where a seed prints them.
* Perimeters the seeds describe in words are rebuilt from the COG, and the territory description
  says how (CLS du Bassin de Joinville, CLS du Pays de Chaumont and du Pays de Langres).
* Nothing here is invented for demonstration, so no record is ``synthetic``; the demo login
  accounts of :func:`ensure_demo_accounts` are attached to a synthetic practitioner.

``verified_on`` stays empty: the seeds are dated documents, not a verification, so every demo
record starts in the coordinators' "to verify" list; the document date is in ``source_note``.

Loading is an upsert by slug that saves only what differs, so a second run changes nothing (no
new history rows either).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from django.db import models, transaction

from maillage.directory.models import (
    Action,
    Organization,
    Practitioner,
    Scheme,
    SchemeContact,
    SchemeKind,
)
from maillage.imports import ImportReport, run_import
from maillage.territory.models import Commune, Territory

log = logging.getLogger(__name__)

OPERATING = Scheme.Status.OPERATING
PLANNED = Scheme.Status.PLANNED
PATHWAY = Action.Kind.PATHWAY
PROTOCOL = Action.Kind.PROTOCOL
RESOURCE = Action.Kind.RESOURCE
PUBLIC = Action.Visibility.PUBLIC
PROS = Action.Visibility.PROFESSIONALS

S000 = "Dossier de presse de l'ARS, délégation territoriale de la Haute-Marne (25/09/2019)"
S001 = "Conférence santé Centre et Sud Haute-Marne, démarche de concertation (2021)"
S002 = "Feuille de route départementale Centre Sud Haute-Marne (24/11/2021)"
S003 = "Projet de santé de la CPTS Saint-Dizier Der & Blaise (novembre 2019)"
S004 = "Conférence santé Centre et Sud Haute-Marne (15/07/2021)"

ARS_DT52 = "ARS Grand Est — délégation territoriale de la Haute-Marne"
CPTS_SDDB = "CPTS Saint-Dizier Der & Blaise"

CPTS_TERRITORY = "cpts-saint-dizier-der-blaise"
CENTRE_SUD = "centre-sud-haute-marne"
HAUTE_MARNE = "departement:52"


@dataclass(frozen=True)
class TerritorySpec:
    """A perimeter the seeds describe in words, rebuilt from COG units."""

    slug: str
    name: str
    kind: str
    members: tuple[str, ...]  # "epci:…", "arrondissement:…", "commune:…"
    description: str


@dataclass(frozen=True)
class ContactSpec:
    name: str
    role: str
    email: str = ""
    public: bool = False


@dataclass(frozen=True)
class SchemeSpec:
    slug: str
    name: str
    kind: str
    status: str
    source_note: str
    description: str = ""
    finess: str = ""  # FINESS ET of the carrying structure, linked as ``organization``
    commune: str | None = None  # INSEE code; default: the carrying structure's commune
    perimeter: str | None = None  # territory slug or COG spec
    members: tuple[str, ...] = ()  # FINESS ET of member structures
    email: str = ""
    website: str = ""
    contacts: tuple[ContactSpec, ...] = ()


@dataclass(frozen=True)
class ActionSpec:
    slug: str
    title: str
    kind: str
    summary: str
    body: str
    author: str
    source_note: str
    tags: tuple[str, ...] = ()
    territory: str | None = None
    scheme: str | None = None
    visibility: str = PUBLIC
    link: str = ""


@dataclass
class DemoContent:
    territories: list[TerritorySpec] = field(default_factory=list)
    schemes: list[SchemeSpec] = field(default_factory=list)
    actions: list[ActionSpec] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Perimeters
# --------------------------------------------------------------------------------------------

TERRITORIES = [
    TerritorySpec(
        slug="cls-bassin-de-joinville",
        name="CLS du Bassin de Joinville",
        kind=Territory.Kind.CLS,
        members=("epci:200044253", "commune:52211", "commune:52177"),
        description=(
            "Reconstitution : les communes de la CC du Bassin de Joinville en Champagne (EPCI "
            "200044253, 59 communes au COG) et Froncles et Doulaincourt-Saucourt, communes "
            "signataires du contrat hors de l'EPCI (Froncles est dans la CA de Chaumont, "
            "Doulaincourt-Saucourt dans la CC Meuse Rognon) : 61 communes, le nombre donné par "
            "le dossier de presse ARS du 25/09/2019 (« Ce CLS concerne 61 communes et plus de "
            "15 000 habitants »). La population municipale actuelle de ces communes est "
            "inférieure à 15 000."
        ),
    ),
    TerritorySpec(
        slug="cls-pays-de-chaumont",
        name="CLS du Pays de Chaumont",
        kind=Territory.Kind.CLS,
        members=("arrondissement:521",),
        description=(
            "Reconstitution : l'arrondissement de Chaumont (521). La conférence santé de 2021 "
            "cite ce contrat comme « CLS Arr. Chaumont » ; le périmètre exact du Pays (PETR) "
            "n'est donné par aucun des documents sources."
        ),
    ),
    TerritorySpec(
        slug="cls-pays-de-langres",
        name="CLS du Pays de Langres",
        kind=Territory.Kind.CLS,
        members=("arrondissement:522",),
        description=(
            "Reconstitution : l'arrondissement de Langres (522). La conférence santé de 2021 "
            "cite ce contrat comme « CLS Arr. Langres » ; le périmètre exact du Pays (PETR) "
            "n'est donné par aucun des documents sources."
        ),
    ),
]


# --------------------------------------------------------------------------------------------
# Dispositifs
# --------------------------------------------------------------------------------------------

_MSP_000 = f"{S000}, « Les Maisons de Santé Pluri professionnelles (MSP) »"
_ONLY_MSP = "seule maison de santé (FINESS 603) de la commune dans FINESS 2021"

MSP = [
    SchemeSpec(
        slug="msp-fayl-billot",
        name="MSP de Fayl-Billot",
        kind=SchemeKind.MSP,
        status=OPERATING,
        finess="520004425",
        description=(
            "Équipe pluriprofessionnelle (dossier de presse ARS, septembre 2019) : 3 médecins "
            "généralistes, 5 infirmiers, 3 masseurs-kinésithérapeutes, 2 chirurgiens-dentistes, "
            "1 pédicure-podologue, 1 diététicienne, 1 orthophoniste, 1 psychomotricien et "
            "4 pharmaciens. Financement ARS : 50 000 €.\n"
            "Évolution prévue : extension de la MSP pour une réorganisation fonctionnelle des "
            "locaux et l'accueil de nouveaux professionnels de santé, dont au moins un médecin "
            "(accompagnement ARS estimé à 30 000 €).\n"
            "Structure FINESS : MSP La Saulamance, Fayl-Billot."
        ),
        source_note=f"{_MSP_000} et « ZOOM sur la MSP de Fayl-Billot » ; FINESS : {_ONLY_MSP}",
    ),
    SchemeSpec(
        slug="msp-bourmont",
        name="MSP de Bourmont",
        kind=SchemeKind.MSP,
        status=OPERATING,
        finess="520004441",
        description="Maison de santé en fonctionnement (dossier de presse ARS, septembre 2019).",
        source_note=f"{_MSP_000} ; FINESS : {_ONLY_MSP}",
    ),
    SchemeSpec(
        slug="msp-breuvannes-en-bassigny",
        name="MSP de Breuvannes-en-Bassigny",
        kind=SchemeKind.MSP,
        status=OPERATING,
        finess="520005075",
        description=(
            "Maison de santé en fonctionnement (dossier de presse ARS, septembre 2019). "
            "Structure FINESS : Maison médicale de Breuvannes."
        ),
        source_note=f"{_MSP_000} ; FINESS : {_ONLY_MSP}",
    ),
    SchemeSpec(
        slug="msp-froncles",
        name="MSP de Froncles",
        kind=SchemeKind.MSP,
        status=OPERATING,
        finess="520004466",
        description="Maison de santé en fonctionnement (dossier de presse ARS, septembre 2019).",
        source_note=f"{_MSP_000} ; FINESS : {_ONLY_MSP}",
    ),
    SchemeSpec(
        slug="msp-joinville",
        name="MSP de Joinville",
        kind=SchemeKind.MSP,
        status=OPERATING,
        finess="520004813",
        description=(
            "Maison de santé en fonctionnement (dossier de presse ARS, septembre 2019). Elle "
            "porte, dans le cadre du CLS du Bassin de Joinville, la journée forum sur le "
            "diabète ouverte à tous les habitants. Structure FINESS : MSP du Vallage, Joinville."
        ),
        source_note=f"{_MSP_000} et « CLS » ; FINESS : {_ONLY_MSP}",
    ),
    SchemeSpec(
        slug="msp-saint-dizier-vert-bois",
        name="MSP de Saint-Dizier (Pôle de santé du Vert Bois)",
        kind=SchemeKind.MSP,
        status=OPERATING,
        finess="520004540",
        description=(
            "MSP Paul Cézanne, « ancrée dans le quartier du Vert Bois » (quartier prioritaire "
            "de la politique de la ville), avec 7 médecins généralistes (projet de santé de la "
            "CPTS, novembre 2019). Son équipe de soins primaires, retenue à l'appel à projets "
            "ETAPES en 2017, a expérimenté les téléconsultations de médecine générale dont est "
            "né le projet de la CPTS Saint-Dizier Der & Blaise. Structure FINESS : Pôle de santé "
            "Paul Cézanne."
        ),
        source_note=f"{_MSP_000} ; {S003}, « Contexte et chronologie », « Synthèse » (p. 22)",
    ),
    SchemeSpec(
        slug="msp-bourbonne-les-bains",
        name="MSP de Bourbonne-les-Bains",
        kind=SchemeKind.MSP,
        status=OPERATING,
        finess="520004508",
        description="Maison de santé en fonctionnement (dossier de presse ARS, septembre 2019).",
        source_note=f"{_MSP_000} ; FINESS : {_ONLY_MSP}",
    ),
    SchemeSpec(
        slug="msp-wassy",
        name="MSP de Wassy",
        kind=SchemeKind.MSP,
        status=PLANNED,
        commune="52550",
        description=(
            "MSP en projet (dossier de presse ARS, septembre 2019) ; le projet de santé de la "
            "CPTS (novembre 2019) l'annonce « opérationnelle dans ses murs au premier semestre "
            "2020 à Wassy avec 3 médecins généralistes ». Pas de maison de santé à Wassy dans "
            "FINESS 2021."
        ),
        source_note=f"{_MSP_000} (« 4 MSP en projet ») ; {S003}, « Synthèse » (p. 22)",
    ),
    SchemeSpec(
        slug="msp-saint-dizier-centre-ville",
        name="MSP de Saint-Dizier centre-ville",
        kind=SchemeKind.MSP,
        status=PLANNED,
        commune="52448",
        description=(
            "MSP en projet (dossier de presse ARS, septembre 2019) ; « le projet immobilier "
            "démarre à Saint-Dizier centre-ville, avec 4 médecins » (projet de santé de la "
            "CPTS, novembre 2019)."
        ),
        source_note=f"{_MSP_000} (« 4 MSP en projet ») ; {S003}, « Synthèse » (p. 22)",
    ),
    SchemeSpec(
        slug="msp-eclaron",
        name="MSP d'Éclaron",
        kind=SchemeKind.MSP,
        status=PLANNED,
        commune="52182",
        description=(
            "MSP en projet (dossier de presse ARS, septembre 2019) ; « en réflexion à Eclaron "
            "(3 médecins) » selon le projet de santé de la CPTS (novembre 2019)."
        ),
        source_note=f"{_MSP_000} (« 4 MSP en projet ») ; {S003}, « Synthèse » (p. 22)",
    ),
    SchemeSpec(
        slug="msp-langres",
        name="MSP de Langres",
        kind=SchemeKind.MSP,
        status=PLANNED,
        commune="52269",
        description=(
            "Projet présenté en septembre 2019, ouverture annoncée pour mars 2020 (pas de "
            "maison de santé à Langres dans FINESS 2021).\n"
            "15 professionnels inscrits dans le projet de santé : 4 médecins généralistes, "
            "1 dermatologue, 3 infirmiers libéraux, 1 orthoptiste, 2 pédicures-podologues, "
            "3 masseurs-kinésithérapeutes, 1 chirurgien-dentiste.\n"
            "Financement ARS : 100 000 € (constitution du statut juridique, mobilier : salle de "
            "réunion, studio pour l'accueil des étudiants, salles d'attente…). Cofinanceurs du "
            "volet immobilier : État (DETR, FSIL), Europe, Région, GIP, Communauté de communes "
            "du Grand Langres.\n"
            "Projet d'actions de prévention, de promotion et d'éducation à la santé : patients "
            "diabétiques, patients à risque ou souffrant d'obésité, campagne de vaccination, "
            "prévention des maux de dos et de la lombalgie."
        ),
        source_note=f"{_MSP_000} et « ZOOM sur le projet de la MSP de Langres »",
    ),
]

CENTRES_SANTE = [
    SchemeSpec(
        slug="centre-sante-mutualite-saint-dizier",
        name="Centre de santé de la Mutualité Française à Saint-Dizier",
        kind=SchemeKind.CENTRE_SANTE,
        status=OPERATING,
        finess="520003229",
        description=(
            "Centre de santé dentaire en cours d'élargissement en centre de santé polyvalent "
            "(septembre 2019) : un poste de médecin généraliste à temps complet y a été ouvert "
            "et un poste partagé avec l'hôpital de Saint-Dizier (0,4 ETP Mutualité, 0,6 ETP "
            "hôpital) offre un exercice mixte ville-hôpital. L'ARS finance son fonctionnement "
            "(équipement, mobilier, système d'information). Le projet de santé de la CPTS "
            "(novembre 2019) le décrit comme « le centre polyvalent mutualiste de Saint-Dizier, "
            "qui reçoit tous les jours de la semaine sur rendez-vous ». Structure FINESS : "
            "centre de santé dentaire mutualiste, Saint-Dizier."
        ),
        source_note=(
            f"{S000}, « Le centre de santé de la Mutualité Française à Saint-Dizier » ; "
            f"{S003}, « 2.3.2 secteur hospitalier et médico-social » (p. 19)"
        ),
    ),
    SchemeSpec(
        slug="centre-sante-clinique-dentaire-saint-dizier",
        name="Clinique dentaire de Saint-Dizier",
        kind=SchemeKind.CENTRE_SANTE,
        status=OPERATING,
        finess="520784281",
        description=(
            "L'un des « deux centres de santé dentaires en activité sur la commune » : « la "
            "clinique dentaire située au 7 rue Brigadier Albert » (projet de santé de la CPTS, "
            "novembre 2019)."
        ),
        source_note=f"{S003}, « 2.3.2 secteur hospitalier et médico-social » (p. 19)",
    ),
]

CPTS = [
    SchemeSpec(
        slug="cpts-saint-dizier-der-blaise",
        name="CPTS Saint-Dizier Der & Blaise",
        kind=SchemeKind.CPTS,
        status=OPERATING,
        commune="52448",
        perimeter=CPTS_TERRITORY,
        email="cptssddb@gmail.com",
        website="http://cptsddb.sitew.fr",
        members=(
            # Hospitals that are active members (projet de santé, liste des membres).
            "520000068",  # CH Geneviève de Gaulle Anthonioz, Saint-Dizier
            "520000084",  # Centre hospitalier de Wassy (Hôpital Saint-Charles)
            "520000050",  # Centre hospitalier de Montier-en-Der
            # Pharmacies that are members, or whose titulaire is a member.
            "520002122",  # Pharmacie Kennel
            "520002155",  # Pharmacie de la Cornée Renard
            "520002387",  # Pharmacie de la République
            "520002304",  # Pharmacie de la Couronne
            "520002403",  # Pharmacie de la Noue
            "520002221",  # Pharmacie du Chêne Saint-Amand
            "520002270",  # Pharmacie Gambetta
        ),
        description=(
            "Association loi 1901 constituée le 4 février 2019 ; siège : 1 bis rue Paul "
            "Cézanne, immeuble Liez, 52100 Saint-Dizier. Périmètre « calqué sur le territoire de "
            "la Communauté d'Agglomération » : 60 communes de la Haute-Marne et de la Marne, "
            "environ 59 000 habitants. Projet de santé de novembre 2019 : observatoire des "
            "ressources et « Bottin » (volets Acteurs et Actions), cabinets de téléconsultation "
            "(Clos Mortier, La Noue), soins non programmés, coordination des parcours, "
            "prévention, terrains de stage et accueil des nouveaux professionnels.\n"
            "Membres (liste du projet de santé) : des médecins généralistes, infirmiers et "
            "pharmaciens de Saint-Dizier et de l'agglomération, l'association Le Bois "
            "l'Abbesse, la Communauté d'Agglomération, sept pharmacies et les centres "
            "hospitaliers de Saint-Dizier, Wassy et Montier-en-Der."
        ),
        contacts=(
            ContactSpec(
                name="Séverine Lagney",
                role="Contact de la CPTS ; coordinatrice de la MSP Paul Cézanne, pilote du projet",
                email="cptssddb@gmail.com",
                public=True,
            ),
            ContactSpec(name="Dr Bertrand Demangeon", role="Président", public=True),
        ),
        source_note=(
            f"{S003}, page de titre, « Structuration juridique » (p. 27) et « La gouvernance "
            "et la coordination » (p. 30)"
        ),
    ),
    SchemeSpec(
        slug="cpts-langres",
        name="CPTS du territoire de Langres",
        kind=SchemeKind.CPTS,
        status=PLANNED,
        commune="52269",
        description=(
            "CPTS « langroise » (ou « lingonne ») à mettre en place : action « Renforcer le lien "
            "ville-hôpital au quotidien » de la feuille de route 2021 — identification des "
            "acteurs à 6 mois, projet organisationnel à 12 mois, « CPTS Langres opérationnelle » "
            "à 18 mois et plus. Proposition déjà formulée à la conférence santé du 15 juillet "
            "2021 (« Mettre en place une CPTS sur le territoire de Langres »). Périmètre non "
            "arrêté dans les documents sources."
        ),
        source_note=(
            f"{S002}, « Renforcer le lien ville-hôpital au quotidien » ; {S004}, « Coopération »"
        ),
    ),
    SchemeSpec(
        slug="cpts-centre-sud-haute-marne",
        name="CPTS Centre-Sud Haute-Marne",
        kind=SchemeKind.CPTS,
        status=OPERATING,
        description=(
            "Citée une seule fois par la feuille de route 2021, comme expérience à partager "
            "pour créer la CPTS de Langres : « Partager l'expérience avec CPTS centre-sud Haute "
            "marne (gouvernance/fonctionnement, RH) ». Périmètre, porteur et coordonnées non "
            "précisés dans les documents sources."
        ),
        source_note=f"{S002}, « Renforcer le lien ville-hôpital au quotidien »",
    ),
]

CLS = [
    SchemeSpec(
        slug="cls-bassin-de-joinville",
        name="CLS du Bassin de Joinville",
        kind=SchemeKind.CLS,
        status=OPERATING,
        commune="52250",
        perimeter="cls-bassin-de-joinville",
        description=(
            "Seul CLS signé en Haute-Marne en septembre 2019, par la Communauté de communes du "
            "Bassin de Joinville-en-Champagne, l'ARS Grand Est, la Ville de Joinville, les "
            "communes de Froncles, de Doulaincourt-Saucourt et de Doulevant-le-Château, le "
            "Rectorat de l'Académie de Reims, la MSA Sud Champagne, la Préfecture, la CPAM et "
            "le Conseil départemental. « Ce CLS concerne 61 communes et plus de 15 000 "
            "habitants. » 30 fiches-actions autour de cinq axes : recours aux soins et services "
            "de santé, prévention et promotion de la santé, environnement de vie, parentalité, "
            "coordination des acteurs."
        ),
        source_note=f"{S000}, « Agir sur les déterminants de santé via les CLS » (p. 13)",
    ),
    SchemeSpec(
        slug="cls-pays-de-chaumont",
        name="CLS du Pays de Chaumont",
        kind=SchemeKind.CLS,
        status=PLANNED,
        commune="52121",
        perimeter="cls-pays-de-chaumont",
        description=(
            "En cours de signature en septembre 2019 (signature annoncée au 4e trimestre 2019). "
            "Objectifs : améliorer le parcours de santé des habitants du Pays de Chaumont (accès "
            "aux soins, prévention, coordination des acteurs), la prise en charge en santé "
            "mentale, la prise en charge des conduites addictives et l'accompagnement des "
            "personnes âgées. La conférence santé de 2021 s'appuie sur ce contrat (« CLS Arr. "
            "Chaumont »), sans en donner la date de signature."
        ),
        source_note=f"{S000}, « 2 CLS sont en cours de signature » ; {S001}, « Offre disponible »",
    ),
    SchemeSpec(
        slug="cls-pays-de-langres",
        name="CLS du Pays de Langres",
        kind=SchemeKind.CLS,
        status=PLANNED,
        commune="52269",
        perimeter="cls-pays-de-langres",
        description=(
            "En cours de signature en septembre 2019 (signature annoncée au 4e trimestre 2019), "
            "plan d'actions en rédaction. Axes stratégiques : l'accès aux soins (offre et "
            "parcours), la santé environnementale et les conditions de vie, la prévention et "
            "promotion de la santé, le bien-être et mal-être psychologique. La conférence santé "
            "de 2021 s'appuie sur ce contrat (« CLS Arr. Langres »)."
        ),
        source_note=f"{S000}, « 2 CLS sont en cours de signature » ; {S001}, « Offre disponible »",
    ),
]

COORDINATION = [
    SchemeSpec(
        slug="pta-centre-sud-haute-marne",
        name="Plateforme territoriale d'appui (PTA) — Centre et Sud Haute-Marne",
        kind=SchemeKind.DAC,
        status=OPERATING,
        perimeter=CENTRE_SUD,
        description=(
            "Le diagnostic de la concertation Centre et Sud Haute-Marne (2021) relève une « PTA "
            "opérationnelle, réactive et disponible ». Porteur, périmètre exact et coordonnées "
            "non précisés dans les documents sources ; le périmètre affiché est celui du "
            "diagnostic. En 2019, le projet de santé de la CPTS Saint-Dizier notait « pas de "
            "structures d'appui, de coordination de parcours (de type Plateforme territoriale "
            "d'appui) » sur son territoire. La PTA et les MAIA ont vocation à rejoindre le DAC "
            "départemental."
        ),
        source_note=(
            f"{S001}, « Offre disponible — ce que nous avons entendu » ; {S003}, « Synthèse » "
            "(p. 22)"
        ),
    ),
    SchemeSpec(
        slug="dac-haute-marne",
        name="Dispositif d'appui à la coordination (DAC) de la Haute-Marne",
        kind=SchemeKind.DAC,
        status=PLANNED,
        perimeter=HAUTE_MARNE,
        description=(
            "À mettre en place en 2022 (feuille de route 2021, action « Renforcer le lien "
            "ville-hôpital au quotidien », responsable : DT 52) : partager un diagnostic et une "
            "cartographie des dispositifs de coordination existants (MAIA, PTA), puis "
            "labellisation et ouverture du DAC, « guichet unique, d'accueils et orientations "
            "santé à l'échelle du département, facilitateur du lien ville-hôpital ». Jalons : "
            "diagnostic à 6 mois, projet à 12 mois, DAC labellisé à 18 mois et plus."
        ),
        source_note=f"{S002}, « Renforcer le lien ville-hôpital au quotidien », livrables",
    ),
    SchemeSpec(
        slug="pcpe-val-et-der",
        name="PCPE Val & Der",
        kind=SchemeKind.PCPE,
        status=OPERATING,
        perimeter=HAUTE_MARNE,
        description=(
            "Pôle de compétences et de prestations externalisées créé à titre expérimental en "
            "2017 en Haute-Marne, porté par le GAP (groupement d'associations partenaires) « Val "
            "& Der » : l'association Le Bois l'Abbesse, la Fondation Lucy Lebon et l'ADASMS. "
            "Il prévient les ruptures de parcours des personnes handicapées, à tout âge, par des "
            "plans d'interventions individualisés mobilisant les professionnels de santé, "
            "sociaux et médico-sociaux, en établissement comme en libéral. 16 personnes en "
            "situation particulièrement difficile accompagnées en 2018 ; financement ARS : "
            "120 000 €."
        ),
        source_note=f"{S000}, « Pôle de compétences et de prestations externalisées (PCPE) »",
    ),
]

_NIGHT = f"{S000}, « Mutualisation des infirmières de nuit dans les EHPAD »"
_NIGHT_FINESS = (
    "EHPAD de FINESS 2021 identifiés par leur nom (Osier Pourpre, Nogent) ou comme seul EHPAD "
    "de la commune"
)
_NIGHT_TEXT = (
    "Ligne d'astreinte infirmière de nuit mutualisée, pérennisée depuis janvier 2019 après une "
    "expérimentation en 2015. Objectifs : améliorer la qualité et la sécurité des soins la nuit, "
    "la pertinence des hospitalisations non programmées, diminuer les séjours hospitaliers "
    "évitables en appliquant les prescriptions anticipées la nuit, faciliter le retour en "
    "institution et éviter l'hospitalisation à la suite d'un passage aux urgences. L'ARS finance "
    "50 000 € par ligne en 2019 (rémunération, déplacements, formation, matériel d'astreinte). "
    "Les cinq lignes du département couvrent 1 055 résidents d'EHPAD."
)

NIGHT_NURSES = [
    SchemeSpec(
        slug="astreinte-ide-nuit-doulaincourt-poissons",
        name="Astreinte IDE de nuit — EHPAD de Doulaincourt et Poissons",
        kind=SchemeKind.NIGHT_NURSE,
        status=OPERATING,
        members=("520780438", "520780453"),  # EHPAD Pougny ; EHPAD Legay Colin
        description=_NIGHT_TEXT,
        source_note=f"{_NIGHT} ; {_NIGHT_FINESS}",
    ),
    SchemeSpec(
        slug="astreinte-ide-nuit-langres-longeau-fayl-billot",
        name="Astreinte IDE de nuit — EHPAD de Langres, Longeau-Percey et Fayl-Billot",
        kind=SchemeKind.NIGHT_NURSE,
        status=OPERATING,
        # EHPAD La Trincassaye ; EHPAD Saint-Augustin ; EHPAD Au Brin d'Osier
        members=("520783622", "520781733", "520780446"),
        description=_NIGHT_TEXT,
        source_note=f"{_NIGHT} ; {_NIGHT_FINESS}",
    ),
    SchemeSpec(
        slug="astreinte-ide-nuit-chateauvillain-arc-maranville-chaumont",
        name=(
            "Astreinte IDE de nuit — EHPAD de Châteauvillain, Arc-en-Barrois, Maranville et "
            "l'Osier Pourpre (Chaumont)"
        ),
        kind=SchemeKind.NIGHT_NURSE,
        status=OPERATING,
        # EHPAD Le Mail ; EHPAD d'Arc-en-Barrois ; EHPAD Marie Pocard ; La Maison de l'Osier Pourpre
        members=("520780420", "520780412", "520784521", "520003443"),
        description=_NIGHT_TEXT,
        source_note=f"{_NIGHT} ; {_NIGHT_FINESS}",
    ),
    SchemeSpec(
        slug="astreinte-ide-nuit-bourbonne-val-de-meuse",
        name="Astreinte IDE de nuit — EHPAD de Bourbonne-les-Bains et Val de Meuse",
        kind=SchemeKind.NIGHT_NURSE,
        status=OPERATING,
        # EHPAD du CH de Bourbonne-les-Bains ; EHPAD La Providence (Montigny-le-Roi, Val de Meuse)
        members=("520781592", "520783432"),
        description=_NIGHT_TEXT,
        source_note=f"{_NIGHT} ; {_NIGHT_FINESS}",
    ),
    SchemeSpec(
        slug="astreinte-ide-nuit-nogent",
        name="Astreinte IDE de nuit — les 2 EHPAD de Nogent (Félix Grelot et Le Lien)",
        kind=SchemeKind.NIGHT_NURSE,
        status=OPERATING,
        members=("520780396", "520781766"),  # EHPAD Félix Grelot ; EHPAD Le Lien
        description=_NIGHT_TEXT,
        source_note=f"{_NIGHT} ; {_NIGHT_FINESS}",
    ),
]

_TLC_000 = f"{S000}, « La télémédecine libérale à Saint-Dizier »"
_TLC_003 = f"{S003}, « Développement de la télémédecine » (p. 36)"
_TLC_TEXT = (
    "Téléconsultation de médecine générale assistée par un infirmier sur un chariot équipé "
    "(stéthoscope, otoscope, dermatoscope, électrocardiogramme, échographe), avec des "
    "télémédecins, pour les patients dont le médecin traitant ne peut répondre à une demande "
    "aiguë et pour ceux qui n'ont plus de médecin traitant ; à partir de 6 ans. Rendez-vous par "
    "une plateforme en ligne ou un numéro de téléphone dédié. Gérée par la CPTS Saint-Dizier "
    "Der & Blaise."
)

TELECONSULTATION = [
    SchemeSpec(
        slug="teleconsultation-clos-mortier",
        name="Salle de téléconsultation du Clos Mortier",
        kind=SchemeKind.TELECONSULTATION,
        status=OPERATING,
        commune="52448",
        description=(
            "11 rue Henri IV, 52100 Saint-Dizier : ancien cabinet médical rénové de 64 m² "
            "(accueil et deux salles de consultation), dans un quartier d'environ 2 100 "
            "habitants, voisin de Marnaval (1 660 habitants, sans médecin).\n"
            f"{_TLC_TEXT}\n"
            "Premières téléconsultations en avril 2019 (le 9 avril selon l'ARS, le 6 avril "
            "selon la CPTS). En septembre 2019 : 63 demi-journées, 450 patients, 478 actes ; "
            "915 téléconsultations en novembre 2019."
        ),
        contacts=(
            ContactSpec(
                name="Hélène Simon",
                role="IDE Asalée, vice-présidente de la CPTS, supervise les salles de "
                "téléconsultation",
            ),
        ),
        source_note=f"{_TLC_003} ; {_TLC_000}",
    ),
    SchemeSpec(
        slug="teleconsultation-la-noue",
        name="Salle de téléconsultation de La Noue",
        kind=SchemeKind.TELECONSULTATION,
        status=OPERATING,
        commune="52448",
        description=(
            "143 avenue de la République, 52100 Saint-Dizier : local de 33 m² attenant à la "
            "pharmacie de la Noue (accueil et une grande salle de consultation), quartier "
            "d'environ 4 500 habitants.\n"
            f"{_TLC_TEXT}\n"
            "Ouverture le 15 septembre 2019 ; 200 téléconsultations en novembre 2019."
        ),
        contacts=(
            ContactSpec(
                name="Hélène Simon",
                role="IDE Asalée, vice-présidente de la CPTS, supervise les salles de "
                "téléconsultation",
            ),
        ),
        source_note=f"{_TLC_003} ; {_TLC_000}",
    ),
]

OUTREACH = [
    SchemeSpec(
        slug="consultations-avancees-addictologie-joinville",
        name="Consultations avancées de spécialistes en addictologie — Bassin de Joinville",
        kind=SchemeKind.OUTREACH,
        status=PLANNED,
        perimeter="cls-bassin-de-joinville",
        description=(
            "Exemple donné pour l'axe « Favoriser le recours aux soins et services de santé » du "
            "CLS du Bassin de Joinville. Lieux, jours et intervenants non précisés dans les "
            "documents sources : la fiche est marquée « en projet »."
        ),
        source_note=f"{S000}, « Agir sur les déterminants de santé via les CLS » (p. 13)",
    ),
]

_H002 = f"{S002}, « Scénario 1 : offre de soins hospitaliers actuelle »"
_H003 = f"{S003}, « 2.3.2 secteur hospitalier et médico-social » (p. 19)"

HOSPITALS = [
    SchemeSpec(
        slug="hopital-ch-chaumont",
        name="Centre hospitalier de Chaumont",
        kind=SchemeKind.HOSPITAL,
        status=OPERATING,
        finess="520000027",
        members=("520781584", "520782939"),  # EHPAD Jean-François Bonnet ; USLD du CH
        description=(
            "Offre actuelle (feuille de route 2021, scénario 1) : médecine, chirurgie, "
            "obstétrique, urgences, SAMU, SMUR, SSR, soins critiques, IFSI-IFAS, EHPAD et USLD. "
            "Praticiens mis à disposition dans le cadre du GHT 21-52, avec le soutien des "
            "équipes du CHU de Dijon. Renforts annoncés fin 2021 – début 2022 : neurologue et "
            "dermatologue à temps partagé CHU Dijon / CH Chaumont, nouveau chef de service de "
            "gynécologie, autorisation de SSR pédiatrique."
        ),
        source_note=f"{_H002} et « Des actions de renforcement de l'offre » ; {S001}, « Zoom 2 »",
    ),
    SchemeSpec(
        slug="hopital-ch-langres",
        name="Centre hospitalier de Langres",
        kind=SchemeKind.HOSPITAL,
        status=OPERATING,
        finess="520000043",
        members=("520783622",),  # EHPAD La Trincassaye
        description=(
            "Offre actuelle (feuille de route 2021, scénario 1) : médecine, chirurgie, centre "
            "périnatal, urgences (H24), soins critiques, SMUR (H24), SSR et EHPAD. Praticiens "
            "mis à disposition dans le cadre du GHT 21-52 ; arrivée d'un docteur assistant en "
            "endocrinologie annoncée fin 2021 – début 2022."
        ),
        source_note=f"{_H002} et « Des actions de renforcement de l'offre » ; {S001}, « Zoom 2 »",
    ),
    SchemeSpec(
        slug="hopital-ch-bourbonne-les-bains",
        name="Centre hospitalier de Bourbonne-les-Bains",
        kind=SchemeKind.HOSPITAL,
        status=OPERATING,
        finess="520000019",
        members=("520781592", "520783614"),  # EHPAD du CH ; USLD du CH
        description=(
            "Offre actuelle (feuille de route 2021, scénario 1) : SSR, médecine, EHPAD, USLD."
        ),
        source_note=_H002,
    ),
    SchemeSpec(
        slug="hopital-chu-dijon",
        name="CHU de Dijon",
        kind=SchemeKind.HOSPITAL,
        status=OPERATING,
        finess="210986089",
        description=(
            "Établissement de recours (« grade 3 ») des scénarios de la feuille de route 2021 "
            "et partenaire du GHT 21-52 : praticiens mis à disposition des CH de Chaumont et de "
            "Langres, internes, « task force » médicale, temps partagés."
        ),
        source_note=f"{S002}, « Impact du plan d'actions » et scénarios ; {S001}, « Zoom 2 »",
    ),
    SchemeSpec(
        slug="hopital-ch-saint-dizier",
        name="Centre hospitalier Geneviève de Gaulle-Anthonioz (Saint-Dizier)",
        kind=SchemeKind.HOSPITAL,
        status=OPERATING,
        finess="520000068",
        description=(
            "Centre hospitalier de Saint-Dizier (MCO), établissement auquel les habitants de "
            "l'agglomération ont le plus recours (séjours 2016) ; un SSIAD lui est rattaché. "
            "Membre actif de la CPTS Saint-Dizier Der & Blaise."
        ),
        source_note=f"{_H003} et « Recours aux soins hospitaliers » ; liste des membres (p. 27)",
    ),
    SchemeSpec(
        slug="hopital-ch-haute-marne",
        name="Centre hospitalier de la Haute-Marne",
        kind=SchemeKind.HOSPITAL,
        status=OPERATING,
        finess="520000076",
        # EHPAD « Le Verger » (FINESS : EHPAD CHHM) ; USLD Les Rives de la Marne ; CAMSP
        members=("520001868", "520783093", "520002593"),
        description=(
            "SSR et psychiatrie, Saint-Dizier ; dispose d'un EHPAD (Le Verger), d'une unité de "
            "soins de longue durée et d'un centre d'action médico-sociale précoce (CAMSP)."
        ),
        source_note=_H003,
    ),
    SchemeSpec(
        slug="hopital-clinique-francois-1er",
        name="Clinique François 1er (Saint-Dizier)",
        kind=SchemeKind.HOSPITAL,
        status=OPERATING,
        finess="520780180",
        description=(
            "Clinique MCO de Saint-Dizier ; les séjours de chirurgie des habitants se "
            "répartissent entre elle et le centre hospitalier de Saint-Dizier."
        ),
        source_note=f"{_H003} et « Recours aux soins hospitaliers »",
    ),
    SchemeSpec(
        slug="hopital-ch-montier-en-der",
        name="Centre hospitalier de Montier-en-Der",
        kind=SchemeKind.HOSPITAL,
        status=OPERATING,
        finess="520000050",
        # EHPAD Résidence des Aînés (Montier-en-Der) ; EHPAD Gérard de Hault (Sommevoire)
        members=("520782178", "520780461"),
        description=(
            "Deux sites. Montier-en-Der : SSR polyvalent (22 lits), médecine (8 lits), EHPAD "
            "(120 lits d'hébergement permanent, 4 temporaires), accueil de jour (6 places), "
            "SSIAD (17 places). Sommevoire : 64 lits d'hébergement permanent et 2 temporaires. "
            "Membre actif de la CPTS Saint-Dizier Der & Blaise."
        ),
        source_note=f"{_H003} ; liste des membres (p. 27)",
    ),
    SchemeSpec(
        slug="hopital-ch-wassy",
        name="Centre hospitalier de Wassy",
        kind=SchemeKind.HOSPITAL,
        status=OPERATING,
        finess="520000084",
        members=("520781535",),  # EHPAD Hôpital Saint-Charles
        description=(
            "SSR polyvalent (201 lits), médecine (5 lits), EHPAD de 160 lits, accueil de jour "
            "(8 places), SSIAD (33 places personnes âgées, 3 places personnes handicapées). "
            "Membre actif de la CPTS Saint-Dizier Der & Blaise. Structure FINESS : Hôpital "
            "Saint-Charles, Wassy."
        ),
        source_note=f"{_H003} ; liste des membres (p. 27)",
    ),
]

SCHEMES: list[SchemeSpec] = (
    MSP
    + CENTRES_SANTE
    + CPTS
    + CLS
    + COORDINATION
    + NIGHT_NURSES
    + TELECONSULTATION
    + OUTREACH
    + HOSPITALS
)


# --------------------------------------------------------------------------------------------
# Volet Actions
# --------------------------------------------------------------------------------------------

_FDR = f"{S002}, « Les 12 actions de la feuille de route concertée »"
_FDR_LIV = f"{_FDR} et « Livrables à 6, 12, 18 mois »"
_FDR_TAGS = ("feuille de route 2021",)
_NO_DETAIL = "Action de la feuille de route ; le document n'en détaille pas les livrables."


def _roadmap(
    slug: str,
    title: str,
    body: str,
    tags: tuple[str, ...],
    scheme: str | None = None,
    note: str = _FDR,
) -> ActionSpec:
    """One of the 12 actions of the 2021 roadmap, as a resource of the library."""
    return ActionSpec(
        slug=f"feuille-de-route-2021-{slug}",
        title=title,
        kind=RESOURCE,
        summary=(
            "Action de la feuille de route santé départementale concertée (Centre Sud "
            "Haute-Marne, novembre 2021) ; elle couvre « le périmètre ville / établissements "
            "sanitaires et médico-sociaux »."
        ),
        body=body,
        author=ARS_DT52,
        source_note=note,
        tags=_FDR_TAGS + tags,
        territory=CENTRE_SUD,
        scheme=scheme,
    )


ROADMAP_ACTIONS = [
    _roadmap(
        "ipa",
        "Promouvoir les infirmiers en pratique avancée (IPA) et les protocoles de prise en charge",
        "Livrables illustratifs : IPA cardiologie et psychiatrie (6 mois), IPA gériatrie "
        "(12 mois), IPA lien ville-hôpital et deuxième IPA psychiatrie (18 mois et plus).",
        ("IPA", "protocoles", "coopération"),
        note=_FDR_LIV,
    ),
    _roadmap(
        "cooperations-hospitalieres",
        "Consolider les coopérations hospitalières interrégionales pour une prise en charge "
        "complète et graduée",
        "Livrables illustratifs : FMIH — convention et coordonnateur (6 mois), organisation et "
        "fonctionnement (12 mois), filières graduées sur le territoire (18 mois et plus).",
        ("GHT 21-52", "FMIH", "gradation"),
        scheme="hopital-chu-dijon",
        note=_FDR_LIV,
    ),
    _roadmap(
        "installation",
        "Aider à l'installation des professionnels de santé sur le territoire",
        "Jalons de l'axe attractivité (carte de transformation) : analyse des causes des "
        "départs, offres d'aide à l'installation, exercices mixtes.",
        ("attractivité", "installation"),
    ),
    _roadmap(
        "lien-ville-hopital",
        "Renforcer le lien ville-hôpital au quotidien",
        "Responsable : DT 52. « Mieux se connaître, mieux communiquer, se coordonner et "
        "s'articuler entre professionnels de santé. »\n"
        "1. Accompagner la mise en place d'un dispositif d'appui à la coordination (DAC) en "
        "2022 : diagnostic et cartographie des dispositifs existants (MAIA, PTA), puis "
        "labellisation et ouverture.\n"
        "2. Mettre en place une CPTS langroise : partager l'expérience de la CPTS centre-sud "
        "Haute-Marne, définir le projet, renforcer les complémentarités avec les CLS.\n"
        "3. Outiller les acteurs : mutualiser les annuaires existants (CPTS, hôpital, PTA) ; "
        "réduire les délais de transmission des comptes rendus de sortie au médecin traitant.",
        ("lien ville-hôpital", "DAC", "CPTS", "annuaire"),
        scheme="dac-haute-marne",
        note=f"{S002}, « Renforcer le lien ville-hôpital au quotidien »",
    ),
    _roadmap(
        "filiere-geriatrique",
        "Renforcer la filière gériatrique et le parcours de la personne âgée (SSR, court séjour "
        "gériatrique…)",
        "Livrables illustratifs SSR : étude de faisabilité (6 mois), organisation et "
        "fonctionnement, recrutement d'un médecin MPR (12 mois), SSR opérationnel (18 mois et "
        "plus) ; capacité du SSR de Chaumont.",
        ("gériatrie", "personnes âgées", "SSR"),
        note=_FDR_LIV,
    ),
    _roadmap(
        "parcours-femme",
        "Consolider le parcours de la femme tout au long de sa vie et le faire connaître",
        "Renforcement de l'offre déjà engagé : arrivée d'un nouveau chef de service en "
        "gynécologie au CH de Chaumont (T4 2021).",
        ("femme-mère-enfant", "périnatalité"),
        note=f"{_FDR} et « Des actions de renforcement de l'offre de soins »",
    ),
    _roadmap(
        "ptsm",
        "Mettre en œuvre le projet territorial de santé mentale (PTSM)",
        "Livrables illustratifs : validation du PTSM et coordonnateur (6 mois), mise en place "
        "des actions (12 mois), réhabilitation psychosociale (18 mois et plus) ; conseil local "
        "de santé mentale (CLSM) : impulsion, création, réunions pluridisciplinaires.",
        ("santé mentale", "PTSM", "CLSM"),
        note=_FDR_LIV,
    ),
    _roadmap(
        "soins-non-programmes",
        "Pérenniser la prise en charge des soins non programmés et des urgences",
        _NO_DETAIL,
        ("soins non programmés", "urgences"),
    ),
    _roadmap(
        "handicap",
        "Accompagner la population en situation de handicap dans une logique inclusive",
        _NO_DETAIL,
        ("handicap", "inclusion"),
    ),
    _roadmap(
        "cancerologie",
        "Organiser la prise en charge graduée en cancérologie",
        _NO_DETAIL,
        ("cancer", "gradation"),
    ),
    _roadmap(
        "promouvoir-offre",
        "Promouvoir l'offre existante auprès de la population et des professionnels",
        "« Promouvoir l'offre existante (discipline, modalités, accessibilité) tant vis-à-vis "
        "de la population que vis-à-vis des professionnels. » Livrables illustratifs : annuaire "
        "des professionnels en flyer (6 mois), sur un site internet (12 mois), actualisation "
        "en routine (18 mois et plus).",
        ("annuaire", "communication"),
        note=_FDR_LIV,
    ),
    _roadmap(
        "telemedecine",
        "Déployer la télémédecine pour fluidifier et améliorer la prise en charge",
        "Livrables illustratifs : télémédecine en dermatologie et neurologie (6 mois), "
        "télé-expertise et harmonisation des outils de coordination (12 mois), accompagnement "
        "des usages (18 mois et plus).",
        ("télémédecine", "télé-expertise"),
        note=_FDR_LIV,
    ),
]

_P = S003  # shorthand for the CPTS actions' source notes

CPTS_ACTIONS = [
    ActionSpec(
        slug="cpts-sddb-bottin",
        title="Le Bottin : annuaire des ressources du territoire (volets Acteurs et Actions)",
        kind=RESOURCE,
        summary=(
            "« Un grand annuaire des ressources du territoire de la CPTS Saint-Dizier Der & "
            "Blaise de tous les secteurs » : professions médicales et paramédicales, ressources "
            "sociales et médico-sociales, tissu associatif."
        ),
        body=(
            "Le volet « Acteurs » recense les interlocuteurs de tous les secteurs, avec contact "
            "et description succincte de l'activité. Le volet « Actions » est une bibliothèque "
            "de ressources : liens, références, fiches parcours types et protocoles "
            "pluriprofessionnels rédigés par la communauté. Collecte à partir des bases "
            "existantes, par téléphone et courriel, complétée par une démarche participative ; "
            "la CPTS assure une veille continue et l'actualisation."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « Observatoire des ressources territoriales » (p. 33)",
        tags=("annuaire", "observatoire", "coordination"),
        territory=CPTS_TERRITORY,
        scheme="cpts-saint-dizier-der-blaise",
    ),
    ActionSpec(
        slug="cpts-sddb-parcours-teleconsultation",
        title="Consulter en téléconsultation de médecine générale à Saint-Dizier",
        kind=PATHWAY,
        summary=(
            "Pour les patients dont le médecin traitant ne peut répondre rapidement, et pour "
            "ceux qui n'ont plus de médecin traitant : salles du Clos Mortier et de La Noue."
        ),
        body=(
            "1. Prendre rendez-vous sur la plateforme en ligne ou par le numéro dédié.\n"
            "2. Le patient est accueilli par un infirmier, qui l'accompagne, place les appareils "
            "de mesure (tension, saturation, température) et les dispositifs connectés "
            "(stéthoscope, otoscope…).\n"
            "3. Entretien préalable (dossier médical partagé, consentement), puis téléconsultation "
            "avec le télémédecin. Patients à partir de 6 ans.\n"
            "4. Après : si une consultation physique est nécessaire, le patient est réorienté "
            "vers son médecin traitant ; sans médecin traitant, les infirmières prennent "
            "rendez-vous avec un médecin relais du territoire. Le compte rendu est transmis au "
            "médecin traitant."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « Développement de la télémédecine » (p. 36) ; {S000}, télémédecine",
        tags=("téléconsultation", "médecin traitant", "accès aux soins"),
        territory=CPTS_TERRITORY,
        scheme="teleconsultation-clos-mortier",
    ),
    ActionSpec(
        slug="cpts-sddb-protocole-teleconsultation-ide",
        title="Téléconsultation assistée par un infirmier : déroulé et conduite à tenir",
        kind=PROTOCOL,
        summary=(
            "Protocole interne des salles de téléconsultation de la CPTS (infirmiers délégants, "
            "télémédecins délégués) : conditions, déroulé en deux temps, orientation après la "
            "téléconsultation."
        ),
        body=(
            "Conditions : accord du patient ; orientation par le médecin traitant quand il y en "
            "a un ; vidéotransmission sécurisée ; compte rendu obligatoire, transmis au médecin "
            "traitant et si possible versé au DMP.\n"
            "Temps 1 — entretien préalable : création du DMP et trace de la téléconsultation "
            "avec l'accord préalable du patient (« procédure protocolisée »), consentement.\n"
            "Temps 2 — téléconsultation : inclusion à partir de 6 ans, possibilité de "
            "vaccination, critères d'exclusion à respecter (non détaillés dans le projet de "
            "santé). En cas d'urgence, ou à la demande du télémédecin, l'infirmier doit pouvoir "
            "joindre un médecin à Saint-Dizier ou ses environs.\n"
            "Après : réorientation systématique vers le médecin traitant si une consultation "
            "physique s'impose ; sans médecin traitant, rendez-vous pris par l'infirmier auprès "
            "d'un médecin relais du territoire."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « Le fonctionnement » (p. 38) ; {S000}, conditions de la TLC",
        tags=("téléconsultation", "protocole", "infirmier", "DMP"),
        territory=CPTS_TERRITORY,
        scheme="cpts-saint-dizier-der-blaise",
        visibility=PROS,
    ),
    ActionSpec(
        slug="cpts-sddb-soins-non-programmes",
        title="Soins non programmés : un rendez-vous le jour même ou sous 24 heures (projet)",
        kind=RESOURCE,
        summary=(
            "Mission de la CPTS : « permettre aux patients du territoire d'obtenir un "
            "rendez-vous le jour-même ou dans les 24 heures (dès lors qu'il s'agit d'une urgence "
            "non vitale) »."
        ),
        body=(
            "La CPTS s'appuierait sur les médecins du territoire, généralistes et spécialistes, "
            "libéraux et hospitaliers, et sur les autres professions de santé pouvant assurer "
            "une prise en charge rapide. Piste issue des tables rondes : étude de faisabilité "
            "d'une gradation des soins en amont de la consultation via un numéro dédié, en "
            "coopération avec la régulation existante — « il ne s'agirait pas de se substituer "
            "aux services d'urgences mais de différencier une demande de soins non programmés et "
            "une urgence »."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « Les soins non programmés » (p. 41)",
        tags=("soins non programmés", "accès aux soins"),
        territory=CPTS_TERRITORY,
        scheme="cpts-saint-dizier-der-blaise",
    ),
    ActionSpec(
        slug="cpts-sddb-permanence-medico-sociale",
        title="Cabinet de permanence médico-sociale au Clos Mortier (projet)",
        kind=RESOURCE,
        summary=(
            "Une permanence quotidienne en un lieu fixe, gérée par une infirmière "
            "coordinatrice, pour une présence médico-sociale accessible en continu."
        ),
        body=(
            "Où : cabinet du Clos Mortier. Quand : tous les jours, en parallèle ou en dehors "
            "des horaires de téléconsultation. Par qui : une infirmière formée à l'accueil, "
            "l'orientation et la régulation, un médecin sur des plages dédiées aux soins non "
            "programmés, un médiateur social ou une assistante sociale, un étudiant en SASPAS. "
            "Vers qui : médecin généraliste de permanence, téléconsultation, SAU, pharmaciens, "
            "associations médico-sociales. Partenariats à définir : médecine de ville et "
            "d'hôpital, PMI, CCAS, IFSI, employeurs de médecins salariés."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « Cabinet de permanence médico-sociale » (p. 41)",
        tags=("soins non programmés", "infirmier", "médico-social"),
        territory=CPTS_TERRITORY,
        scheme="teleconsultation-clos-mortier",
    ),
    ActionSpec(
        slug="cpts-sddb-renfort-medical",
        title="Renfort médical pour les patients sans médecin traitant : programme PAM (projet)",
        kind=RESOURCE,
        summary=(
            "Coopération entre médecins de l'agglomération, jeunes médecins remplaçants et "
            "télémédecins « pour assurer une prise en charge coordonnée des patients sans "
            "médecins traitants »."
        ),
        body=(
            "Des consultations « traditionnelles » dans les locaux de La Noue et du Clos Mortier "
            "sur les plages laissées libres par la télémédecine, par des médecins seniors ou de "
            "jeunes médecins (assistants ou adjoints) ; un patient vu en présentiel peut être "
            "suivi en télémédecine, et inversement. Sur le modèle du Prado, le programme PAM "
            "(« Pour un accès au médecin ») coordonnerait les acteurs pour des populations "
            "ciblées de patients sans médecin traitant. Autres pistes : médico-bus de médecins "
            "retraités, salariat, contrats d'adjoint ou de collaboration, vacations de médecins "
            "hospitaliers dans les MSP et cabinets ruraux."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « Renfort médical » (p. 42)",
        tags=("médecin traitant", "accès aux soins", "télémédecine"),
        territory=CPTS_TERRITORY,
        scheme="cpts-saint-dizier-der-blaise",
    ),
    ActionSpec(
        slug="cpts-sddb-second-recours",
        title="Faciliter l'accès aux soins de second recours",
        kind=RESOURCE,
        summary=(
            "Accès de la médecine de ville aux plannings de consultations externes de l'hôpital "
            "(étude de faisabilité) et téléconsultation de spécialistes dans les cabinets "
            "équipés."
        ),
        body=(
            "Deux pistes du projet de santé : l'amélioration de l'accès par la médecine de ville "
            "aux plannings de rendez-vous de consultations externes de l'hôpital (étude de "
            "faisabilité) ; la téléconsultation de spécialistes dans les cabinets de "
            "téléconsultation et autres structures équipées."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « Faciliter l'accès aux soins de second recours » (p. 43)",
        tags=("second recours", "lien ville-hôpital", "téléconsultation"),
        territory=CPTS_TERRITORY,
        scheme="cpts-saint-dizier-der-blaise",
    ),
    ActionSpec(
        slug="cpts-sddb-entrees-sorties-hospitalisation",
        title="Entrées et sorties d'hospitalisation : points d'attention ville-hôpital",
        kind=PROTOCOL,
        summary=(
            "Éléments d'un protocole pluriprofessionnel ville-hôpital issus de l'atelier "
            "« organisation des parcours » ; à formaliser par le groupe de travail de la CPTS."
        ),
        body=(
            "- Communication souhaitée et confirmée sur les entrées et les sorties "
            "d'hospitalisation.\n"
            "- Éviter et anticiper les sorties le week-end ou le soir.\n"
            "- Éviter les sorties non programmées, qui mettent en échec le retour à domicile.\n"
            "- Suivi des examens biologiques en l'absence du médecin, renouvellement des "
            "ordonnances : organisation et anticipation à améliorer.\n"
            "- Le soin doit venir aux patients qui ont des difficultés de mobilité.\n"
            "- Partager aussi les conditions de vie du patient au domicile et son suivi social."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « La coordination des parcours » (p. 43)",
        tags=("lien ville-hôpital", "sortie d'hospitalisation", "parcours"),
        territory=CPTS_TERRITORY,
        scheme="cpts-saint-dizier-der-blaise",
        visibility=PROS,
    ),
    ActionSpec(
        slug="cpts-sddb-parcours-prioritaires",
        title="Parcours prioritaires de la CPTS : patients précaires, cancer, addictions",
        kind=PATHWAY,
        summary=(
            "« Des fiches parcours types pourront être réalisées et rendues accessibles à "
            "tous » : les trois parcours à cibler prioritairement."
        ),
        body=(
            "Parcours patients précaires, parcours cancer, parcours addictions. Les fiches sont "
            "à rédiger par le groupe de travail « coordination des parcours et réalisation des "
            "fiches parcours » ; le projet de santé envisage aussi un infirmier coordonnateur ou "
            "une coordinatrice d'intervention en médecine générale (CIMG)."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « Formaliser les parcours et schémas d'organisation » (p. 44)",
        tags=("parcours", "précarité", "cancer", "addictions"),
        territory=CPTS_TERRITORY,
        scheme="cpts-saint-dizier-der-blaise",
    ),
    ActionSpec(
        slug="cpts-sddb-campagnes-prevention",
        title="Relais des campagnes de prévention dans les cabinets, pharmacies et salles de TLC",
        kind=RESOURCE,
        summary=(
            "La CPTS « se fait le relais des campagnes nationales et locales de prévention » "
            "par l'affichage, l'affichage dynamique et des interventions sur site."
        ),
        body=(
            "Campagnes relayées : vaccination contre la grippe ; dépistage des cancers du côlon "
            "et du sein (octobre rose) ; canicule et grand froid ; intoxication au monoxyde de "
            "carbone ; activité physique ; novembre sans tabac ; dépistage du VIH et des "
            "hépatites. Interventions sur site : flyers, dépliants, actions de dépistage ; "
            "contacts avec les EHPAD, lycées et collèges pour des actions conjointes."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « Prévention et promotion de la santé » (p. 45)",
        tags=("prévention", "dépistage", "vaccination"),
        territory=CPTS_TERRITORY,
        scheme="cpts-saint-dizier-der-blaise",
    ),
    ActionSpec(
        slug="cpts-sddb-bus-prevention",
        title="Bus prévention, adolescents et seniors (projet)",
        kind=RESOURCE,
        summary=(
            "Un « bus prévention » qui ferait des haltes dans les villages avec des ateliers "
            "animés par des professionnels ; deux publics ciblés : les adolescents et les "
            "seniors."
        ),
        body=(
            "Quatorze thématiques identifiées par l'atelier prévention (vaccination, diabète, "
            "santé environnementale, violences faites aux femmes, addictions, écrans, troubles "
            "des apprentissages, souffrance au travail, alimentation et activité physique, IST, "
            "autonomie des seniors, parentalité, précarité…). Adolescents : médias adaptés, "
            "comportements à risque, partenariats locaux (éducation nationale, maison des ados, "
            "planning familial…). Seniors : sortir de l'isolement, visites à domicile et moments "
            "de convivialité avec les associations locales."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « Prévention et promotion de la santé » (p. 45–47)",
        tags=("prévention", "adolescents", "seniors"),
        territory=CPTS_TERRITORY,
        scheme="cpts-saint-dizier-der-blaise",
    ),
    ActionSpec(
        slug="cpts-sddb-registres-personnes-vulnerables",
        title="Registres des personnes vulnérables des CCAS : les faire connaître",
        kind=RESOURCE,
        summary=(
            "Le registre nominatif des personnes vulnérables, tenu commune par commune par les "
            "CCAS, sert à la vigilance en période sensible (canicule)."
        ),
        body=(
            "Proposition de l'atelier seniors : « communiquer sur l'existence des registres "
            "personnes vulnérables auprès des professionnels de la CPTS », étendre la vigilance "
            "hors période sensible et l'inclure dans la plateforme de ressources de la CPTS."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « Les seniors, sortir de l'isolement » (p. 47)",
        tags=("personnes vulnérables", "CCAS", "canicule", "seniors"),
        territory=CPTS_TERRITORY,
        scheme="cpts-saint-dizier-der-blaise",
    ),
    ActionSpec(
        slug="cpts-sddb-formations-pluriprofessionnelles",
        title="Réunions et formations pluriprofessionnelles",
        kind=RESOURCE,
        summary=(
            "Des formations pluriprofessionnelles, « meilleur moyen pour apprendre à se "
            "connaître, savoir qui fait quoi sur le parcours de vie des usagers »."
        ),
        body=(
            "Besoins déjà identifiés : formation au DMP pour les médecins et paramédicaux ; "
            "promotion des protocoles de coopération (Asalée, IPA, assistants médicaux) ; "
            "valorisation du champ social dans l'organisation des parcours. Conventions "
            "envisagées avec les structures et l'hôpital ; soirées thématiques et groupes "
            "d'analyse des pratiques."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « Les réunions et formations pluriprofessionnelles » (p. 34)",
        tags=("formation", "coopération", "DMP"),
        territory=CPTS_TERRITORY,
        scheme="cpts-saint-dizier-der-blaise",
    ),
    ActionSpec(
        slug="cpts-sddb-terrains-de-stage",
        title="Développer des terrains de stage pluriprofessionnels",
        kind=RESOURCE,
        summary=(
            "Quatre unités de soins, d'enseignement et de recherche (USER) en médecine générale "
            "sur le territoire ; la CPTS veut favoriser le recrutement de nouveaux maîtres de "
            "stage."
        ),
        body=(
            "Recrutement de maîtres de stage, « seul moyen de recrutement de généralistes dans un "
            "secteur à 100 kms de toute faculté de médecine » ; recensement des lieux de stage "
            "dans l'observatoire ; stages pluriprofessionnels avec l'IFSI ; offre de stage sur "
            "le portail du service sanitaire des étudiants en santé."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « Développer des terrains de stages pluriprofessionnels » (p. 34)",
        tags=("stages", "attractivité", "formation"),
        territory=CPTS_TERRITORY,
        scheme="cpts-saint-dizier-der-blaise",
    ),
    ActionSpec(
        slug="cpts-sddb-accueil-nouveaux-professionnels",
        title="Attractivité du territoire et accueil de nouveaux professionnels de santé",
        kind=RESOURCE,
        summary=(
            "Relais dans les facultés et écoles, aides à l'installation, logement des étudiants "
            "et remplaçants, livret d'accueil et soirée d'accueil."
        ),
        body=(
            "La CPTS participe à l'attractivité « en étant complémentaire et sans se substituer "
            "aux politiques d'aménagement du territoire » : relais dans les facultés et écoles, "
            "mise en valeur des aides à l'installation (partenariat avec le dispositif "
            "PASSERELLE), offre de logement pour les étudiants et remplaçants, livret d'accueil "
            "et moment de convivialité."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « Attractivité du territoire » (p. 35)",
        tags=("attractivité", "installation"),
        territory=CPTS_TERRITORY,
        scheme="cpts-saint-dizier-der-blaise",
    ),
    ActionSpec(
        slug="cpts-sddb-teleconsultation-handicap",
        title="La téléconsultation pour les personnes en situation de handicap (projet)",
        kind=RESOURCE,
        summary=(
            "Le Bois l'Abbesse souhaite que les personnes accueillies bénéficient de "
            "téléconsultations, dans les cabinets de la CPTS ou sur site."
        ),
        body=(
            "Deux options : sensibiliser les personnes accueillies et leur permettre d'accéder "
            "aux cabinets de téléconsultation, ou proposer des actes de télémédecine sur site "
            "pour les personnes dont la mobilité l'interdit (infirmières de l'établissement "
            "formées à l'acte). Un créneau fixe de téléconsultations pourrait leur être réservé."
        ),
        author=CPTS_SDDB,
        source_note=f"{_P}, « La téléconsultation pour les personnes en situation de handicap »",
        tags=("handicap", "téléconsultation"),
        territory=CPTS_TERRITORY,
        scheme="cpts-saint-dizier-der-blaise",
    ),
]

_CLS = f"{S000}, « Agir sur les déterminants de santé via les CLS » (p. 13)"

OTHER_ACTIONS = [
    ActionSpec(
        slug="cls-bassin-de-joinville-axes",
        title="CLS du Bassin de Joinville : cinq axes stratégiques et 30 fiches-actions",
        kind=RESOURCE,
        summary=(
            "Les travaux avec les acteurs locaux « ont abouti à la rédaction de 30 "
            "fiches-actions visant à améliorer l'état de santé des habitants du territoire du "
            "bassin de Joinville »."
        ),
        body=(
            "1. Favoriser le recours aux soins et services de santé (consultations avancées de "
            "spécialistes en addictologie…).\n"
            "2. Renforcer les actions de prévention et de promotion de la santé (programmes "
            "seniors, activité physique adaptée et nutrition…).\n"
            "3. Améliorer l'environnement de vie.\n"
            "4. Soutenir la parentalité dans une vision de promotion de la santé (ateliers "
            "collectifs parentalité et maternité…).\n"
            "5. Améliorer la coordination des acteurs."
        ),
        author="CLS du Bassin de Joinville",
        source_note=_CLS,
        tags=("CLS", "prévention", "parentalité"),
        territory="cls-bassin-de-joinville",
        scheme="cls-bassin-de-joinville",
    ),
    ActionSpec(
        slug="cls-bassin-de-joinville-forum-diabete-2019",
        title="Journée forum sur le diabète (Joinville, 16 novembre 2019)",
        kind=RESOURCE,
        summary=(
            "Une journée forum sur le diabète « à destination de l'ensemble des habitants », "
            "portée par la maison de santé pluriprofessionnelle de Joinville dans le cadre du "
            "CLS."
        ),
        body=(
            "Ateliers : glycémie capillaire, hypoglycémie, insuline, pied diabétique, "
            "diabète / sport / diététique, diabète gestationnel."
        ),
        author="MSP de Joinville (CLS du Bassin de Joinville)",
        source_note=_CLS,
        tags=("diabète", "prévention", "CLS"),
        territory="cls-bassin-de-joinville",
        scheme="msp-joinville",
    ),
    ActionSpec(
        slug="cls-pays-de-chaumont-objectifs",
        title="CLS du Pays de Chaumont : objectifs",
        kind=RESOURCE,
        summary=(
            "Améliorer le parcours de santé des habitants du Pays de Chaumont (accès aux soins, "
            "prévention, coordination des acteurs)."
        ),
        body=(
            "Objectifs annoncés en septembre 2019 : le parcours de santé des habitants (accès "
            "aux soins, prévention, coordination des acteurs), la prise en charge en santé "
            "mentale, la prise en charge des conduites addictives et l'accompagnement des "
            "personnes âgées."
        ),
        author=ARS_DT52,
        source_note=f"{S000}, « 2 CLS sont en cours de signature »",
        tags=("CLS", "santé mentale", "addictions", "personnes âgées"),
        territory="cls-pays-de-chaumont",
        scheme="cls-pays-de-chaumont",
    ),
    ActionSpec(
        slug="cls-pays-de-langres-axes",
        title="CLS du Pays de Langres : axes stratégiques",
        kind=RESOURCE,
        summary="Plan d'actions en cours de rédaction en septembre 2019, autour de quatre axes.",
        body=(
            "L'accès aux soins (offre et parcours) ; la santé environnementale et les conditions "
            "de vie ; la prévention et promotion de la santé ; le bien-être et mal-être "
            "psychologique."
        ),
        author=ARS_DT52,
        source_note=f"{S000}, « 2 CLS sont en cours de signature »",
        tags=("CLS", "santé environnementale", "santé mentale"),
        territory="cls-pays-de-langres",
        scheme="cls-pays-de-langres",
    ),
    ActionSpec(
        slug="msp-langres-parcours-diabete-prevention",
        title="MSP de Langres : patients diabétiques et actions de prévention (projet)",
        kind=PATHWAY,
        summary=(
            "Projet d'actions de prévention, de promotion et d'éducation à la santé de la MSP "
            "de Langres."
        ),
        body=(
            "Patients diabétiques : séances d'éducation thérapeutique, dépistage par "
            "rétinographie, soutien psychologique du patient et de son entourage.\n"
            "Patients à risque ou souffrant d'obésité : consultations spécialisées, activation "
            "physique.\n"
            "Pour tous : campagne de vaccination, prévention des maux de dos et de la lombalgie."
        ),
        author="MSP de Langres",
        source_note=f"{S000}, « ZOOM sur le projet de la MSP de Langres »",
        tags=("diabète", "éducation thérapeutique", "obésité", "vaccination"),
        scheme="msp-langres",
    ),
    ActionSpec(
        slug="astreinte-ide-nuit-ehpad",
        title="Astreinte infirmière de nuit mutualisée entre EHPAD",
        kind=RESOURCE,
        summary=(
            "Cinq lignes d'astreinte infirmière de nuit partagées entre EHPAD, pérennisées "
            "depuis janvier 2019, pour 1 055 résidents."
        ),
        body=(
            "Objectifs : améliorer la qualité et la sécurité des soins la nuit ; améliorer la "
            "pertinence des hospitalisations non programmées la nuit ; diminuer les séjours "
            "hospitaliers évitables en appliquant les prescriptions anticipées la nuit ; "
            "faciliter le retour en institution ; éviter l'hospitalisation d'une personne âgée "
            "à la suite d'un passage aux urgences. Lignes : Doulaincourt et Poissons ; Langres, "
            "Longeau-Percey et Fayl-Billot ; Châteauvillain, Arc-en-Barrois, Maranville et "
            "l'Osier Pourpre à Chaumont ; Bourbonne-les-Bains et Val de Meuse ; les deux EHPAD "
            "de Nogent."
        ),
        author=ARS_DT52,
        source_note=_NIGHT,
        tags=("EHPAD", "nuit", "infirmier", "personnes âgées"),
        territory=HAUTE_MARNE,
    ),
    ActionSpec(
        slug="conference-sante-2021-propositions",
        title="Conférence santé Centre et Sud Haute-Marne : les propositions de la concertation",
        kind=RESOURCE,
        summary=(
            "8 rencontres, 26 heures de débat, plus de 150 participants et 117 propositions "
            "(juillet 2021), en quatre familles : organisation, attractivité, coopération, "
            "communication."
        ),
        body=(
            "Six thématiques : soins non programmés et soins critiques ; plateaux "
            "médico-techniques ; femme, mère, enfant ; démographie médicale et lien "
            "ville-hôpital ; médecine et filières ; santé mentale. Parmi les propositions de "
            "communication entre professionnels : « un annuaire croisé des professionnels de "
            "santé (qui fait quoi, quand où + coordonnées) » et « une cartographie des "
            "dispositifs existants (PTA, CPTS, CLS, etc.) », accessibles aussi aux patients."
        ),
        author=f"{ARS_DT52} et GHT 21-52",
        source_note=f"{S004}, « Les chiffres clés » et « Communication » ; {S001}",
        tags=("concertation", "annuaire", "cartographie"),
        territory=CENTRE_SUD,
    ),
]

ACTIONS: list[ActionSpec] = ROADMAP_ACTIONS + CPTS_ACTIONS + OTHER_ACTIONS


def demo_content() -> DemoContent:
    """The demo content as plain data, checked for consistency (no database access)."""
    content = DemoContent(list(TERRITORIES), list(SCHEMES), list(ACTIONS))
    for label, slugs in (
        ("territoire", [t.slug for t in content.territories]),
        ("dispositif", [s.slug for s in content.schemes]),
        ("action", [a.slug for a in content.actions]),
    ):
        duplicates = {s for s in slugs if slugs.count(s) > 1}
        if duplicates:
            raise ValueError(f"{label}s en double dans la démo : {sorted(duplicates)}")
    scheme_slugs = {s.slug for s in content.schemes}
    for action in content.actions:
        if action.scheme and action.scheme not in scheme_slugs:
            raise ValueError(f"action {action.slug} : dispositif inconnu {action.scheme}")
    for spec in chain(content.schemes, content.actions):
        if len(spec.source_note) > Scheme._meta.get_field("source_note").max_length:
            raise ValueError(f"{spec.slug} : source trop longue ({len(spec.source_note)})")
    return content


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _sync(model: type[models.Model], lookup: dict, values: dict) -> tuple[models.Model, str]:
    """Create or update one row, saving only when a value differs.

    Saving unchanged rows would add a history entry and bump ``updated_at`` on every run; the
    demo loader must leave a database it already filled exactly as it was.
    """
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        return model.objects.create(**lookup, **values), "created"
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if not changed:
        return obj, "unchanged"
    for name in changed:
        setattr(obj, name, values[name])
    obj.save()
    return obj, "updated"


def _set_members(manager, wanted: Iterable[int]) -> bool:
    wanted = set(wanted)
    if set(manager.values_list("pk", flat=True)) == wanted:
        return False
    manager.set(wanted)
    return True


def _cog_codes(spec: str) -> set[str]:
    kind, code = spec.split(":", 1)
    field_name = {
        "departement": "departement_id",
        "arrondissement": "arrondissement_id",
        "epci": "epci_id",
        "commune": "code",
    }[kind]
    return set(Commune.objects.filter(**{field_name: code}).values_list("code", flat=True))


def _territory(spec: str | None, report: ImportReport) -> Territory | None:
    """The saved territory named by ``spec`` (a slug, or a COG spec the demo import saves)."""
    from maillage.territory.services import UnknownTerritory, save_territory

    if not spec:
        return None
    try:
        return save_territory(spec)
    except UnknownTerritory:
        log.warning("démo : territoire %s absent de la base", spec)
        report.skipped["territoires absents"] = report.skipped.get("territoires absents", 0) + 1
        return None


def _write(content: DemoContent) -> ImportReport:
    report = ImportReport("dispositifs")
    tally = {"created": 0, "updated": 0}

    def note(state: str) -> None:
        if state in tally:
            tally[state] += 1

    skipped = report.skipped
    for spec in content.territories:
        codes: set[str] = set()
        for member in spec.members:
            codes |= _cog_codes(member)
        if not codes:
            skipped["territoires absents"] = skipped.get("territoires absents", 0) + 1
            continue
        territory, state = _sync(
            Territory,
            {"slug": spec.slug},
            {
                "name": spec.name,
                "kind": spec.kind,
                "code": ",".join(spec.members),
                "description": spec.description,
                "predefined": False,
            },
        )
        note(state)
        if _set_members(territory.communes, codes) and state == "unchanged":
            note("updated")

    finess = {s.finess for s in content.schemes if s.finess}
    finess |= {m for s in content.schemes for m in s.members}
    orgs = {
        o.finess_et: o
        for o in Organization.objects.filter(finess_et__in=finess).only("pk", "commune_id")
    }
    missing = sorted(finess - set(orgs))
    if missing:
        log.warning("démo : FINESS absents de la base : %s", ", ".join(missing))
        skipped["FINESS absents"] = len(missing)
    communes = set(
        Commune.objects.filter(
            code__in={s.commune for s in content.schemes if s.commune}
        ).values_list("code", flat=True)
    )

    schemes: dict[str, Scheme] = {}
    n_contacts = n_links = 0
    for spec in content.schemes:
        carrier = orgs.get(spec.finess) if spec.finess else None
        commune_id = spec.commune if spec.commune in communes else None
        if spec.commune and commune_id is None:
            skipped["communes absentes"] = skipped.get("communes absentes", 0) + 1
        if commune_id is None and carrier is not None:
            commune_id = carrier.commune_id
        perimeter = _territory(spec.perimeter, report)
        scheme, state = _sync(
            Scheme,
            {"slug": spec.slug},
            {
                "name": spec.name,
                "kind": spec.kind,
                "status": spec.status,
                "description": spec.description,
                "perimeter_id": perimeter.pk if perimeter else None,
                "organization_id": carrier.pk if carrier else None,
                "commune_id": commune_id,
                "finess": spec.finess,
                "email": spec.email,
                "website": spec.website,
                "source_note": spec.source_note,
                "public": True,
                "synthetic": False,
            },
        )
        note(state)
        schemes[spec.slug] = scheme
        members = [orgs[m].pk for m in spec.members if m in orgs]
        n_links += len(members)
        if _set_members(scheme.member_organizations, members) and state == "unchanged":
            note("updated")
        for contact in spec.contacts:
            _, c_state = _sync(
                SchemeContact,
                {"scheme": scheme, "name": contact.name},
                {"role": contact.role, "email": contact.email, "public": contact.public},
            )
            note(c_state)
            n_contacts += 1

    for spec in content.actions:
        territory = _territory(spec.territory, report)
        scheme = schemes.get(spec.scheme) if spec.scheme else None
        _, state = _sync(
            Action,
            {"slug": spec.slug},
            {
                "title": spec.title,
                "kind": spec.kind,
                "summary": spec.summary,
                "body": spec.body,
                "territory_id": territory.pk if territory else None,
                "scheme_id": scheme.pk if scheme else None,
                "tags": ", ".join(spec.tags),
                "link": spec.link,
                "author": spec.author,
                "visibility": spec.visibility,
                "source_note": spec.source_note,
            },
        )
        note(state)

    report.counts = {
        "territoires": len(content.territories),
        "dispositifs": len(content.schemes),
        "contacts": n_contacts,
        "structures liées": n_links,
        "actions": len(content.actions),
        "créés": tally["created"],
        "modifiés": tally["updated"],
    }
    return report


def load_demo_directory() -> ImportReport:
    """Load the seeds' dispositifs and Actions (idempotent: upsert by slug, one transaction).

    Runs after the FINESS import; a FINESS number missing from the database (a partial import)
    leaves the link empty and is counted in ``report.skipped`` instead of failing.
    """
    return run_import("dispositifs", demo_content, _write)


# --------------------------------------------------------------------------------------------
# Demo login accounts
# --------------------------------------------------------------------------------------------

DEMO_ACCOUNTS_FILE = "demo-accounts.txt"
COORDINATOR_USERNAME = "coordination"
PROFESSIONAL_USERNAME = "docteur.demo"
DEMO_GP_COMMUNE = "52121"  # Chaumont
_FILE_HEADER = (
    "# Comptes de démonstration de maillage — mots de passe aléatoires, propres à cette base.\n"
    "# Ne pas utiliser en production. Format : identifiant<TAB>mot de passe\n"
)


def demo_accounts_path() -> Path:
    """Where the demo passwords are written (the data folder, readable by its owner only)."""
    from maillage.paths import data_home

    return data_home() / DEMO_ACCOUNTS_FILE


def _read_accounts(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    accounts = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        username, password = line.split("\t", 1)
        accounts[username.strip()] = password.strip()
    return accounts


def _write_accounts(path: Path, accounts: dict[str, str]) -> None:
    text = _FILE_HEADER + "".join(f"{u}\t{p}\n" for u, p in accounts.items())
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    os.chmod(path, 0o600)  # also tightens a file created earlier with a looser mode


def demo_gp() -> Practitioner | None:
    """The synthetic GP of Chaumont the professional demo account is linked to.

    Chosen deterministically (the synthetic generation is seeded) so that re-running keeps the
    same link; ``None`` when the synthetic practitioners were not generated.
    """
    return (
        Practitioner.objects.filter(
            synthetic=True,
            roles__profession_code="10",
            roles__specialty_code="SM54",
            roles__location__commune_id=DEMO_GP_COMMUNE,
        )
        .order_by("family_name", "given_name", "pk")
        .first()
    )


def ensure_demo_accounts() -> dict[str, str]:
    """Create (once) the demo coordinator and professional accounts; return their passwords.

    Passwords are random per installation — a demo reachable on a network must not have a
    published password — and kept in ``<data folder>/demo-accounts.txt`` (mode 0600) so that
    ``maillage demo`` can say where to find them. Re-running keeps the existing passwords; an
    account whose password no longer matches the file gets a new one.
    """
    from django.contrib.auth import get_user_model

    from maillage.accounts.models import Profile, Role

    user_model = get_user_model()
    path = demo_accounts_path()
    known = _read_accounts(path)
    gp = demo_gp()
    wanted = [
        (COORDINATOR_USERNAME, Role.COORDINATOR, None),
        (PROFESSIONAL_USERNAME, Role.PROFESSIONAL, gp),
    ]
    passwords: dict[str, str] = {}
    with transaction.atomic():
        for username, role, practitioner in wanted:
            password = known.get(username)
            user = user_model.objects.filter(username=username).first()
            if user is None:
                password = password or secrets.token_urlsafe(12)
                user = user_model.objects.create_user(username=username, password=password)
            elif not password or not user.check_password(password):
                password = secrets.token_urlsafe(12)
                user.set_password(password)
                user.save(update_fields=["password"])
            _sync(
                Profile,
                {"user": user},
                {"role": role, "practitioner_id": practitioner.pk if practitioner else None},
            )
            passwords[username] = password
    _write_accounts(path, passwords)
    return passwords
