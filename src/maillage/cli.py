"""The ``maillage`` command.

Analyst commands that work on plain files (``accessibility``) never touch Django. Commands that
need the database set Django up, and initialise the embedded database on first use, so that
``maillage report departement:52`` works on a fresh install.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.settings")
    import django

    django.setup()


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- commands ------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    _setup_django()
    from maillage.bootstrap import initialise

    initialise(force=getattr(args, "force", False), progress=_say)
    return 0


def _check_path(path: str | None) -> str | None:
    """A one-line French error for a path that is not a readable file, else None."""
    if path is None:
        return None
    where = Path(path)
    if not where.exists():
        return f"erreur : le fichier « {path} » n'existe pas."
    if where.is_dir():
        return f"erreur : « {path} » est un dossier ; indiquez le fichier à importer."
    if not os.access(where, os.R_OK):
        return f"erreur : le fichier « {path} » n'est pas lisible (droits)."
    return None


def cmd_import(args: argparse.Namespace) -> int:
    problem = _check_path(args.path)
    if problem:
        _say(problem)
        return 2
    _setup_django()
    from maillage.bootstrap import migrate, run_named_import
    from maillage.imports import isolation

    migrate()
    departements = args.departements.split(",") if args.departements else None
    # Beside a live site: on SQLite, write on a snapshot and apply it in one short transaction.
    with isolation("shadow"):
        for report in run_named_import(args.dataset, args.path, departements=departements):
            _say(str(report))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from maillage.observatory.report import pdf

    formats = [f.strip() for f in args.format.split(",")]
    if "pdf" in formats:
        # The PDF's helper process imports WeasyPrint while this one sets Django up: a cold
        # report waits for the helper's layout, not for its start (unused when cached).
        pdf.start_early()
    try:
        return _report(args, formats)
    finally:
        pdf.discard_early()


def _report(args: argparse.Namespace, formats: list[str]) -> int:
    _setup_django()
    from maillage.bootstrap import initialise
    from maillage.observatory.reports import write_reports
    from maillage.territory.services import resolve

    initialise(progress=_say)
    territory = resolve(args.territory)
    start = time.perf_counter()
    if args.format == "json":
        from maillage.observatory.diagnostic import compute

        json.dump(compute(territory), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    output = Path(args.output) if args.output else Path.cwd()
    # Built once per data version in the data folder's export cache, then copied.
    paths = write_reports(territory, None, output, formats)
    for path in paths:
        print(path)
    _say(f"Rapport « {territory.name} » écrit en {time.perf_counter() - start:.1f} s")
    return 0


def cmd_care(args: argparse.Namespace) -> int:
    _setup_django()
    from maillage.bootstrap import initialise
    from maillage.care.people.summary import summary
    from maillage.territory.services import resolve

    initialise(progress=_say)
    territory = resolve(args.territory)
    codes = set(territory.communes.values_list("code", flat=True))
    figures = {"territory": {"name": territory.name, "communes": len(codes)}, **summary(codes)}
    if args.format == "json":
        json.dump(figures, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"{territory.name} ({len(codes)} communes)")
    for key, part in figures.items():
        if key == "territory":
            continue
        print(f"{key}:")
        for name, value in part.items():
            if isinstance(value, list) and all(isinstance(v, dict) for v in value):
                # a table (the letters' hospitals): one line per row, its name first
                print(f"  {name}:" + ("" if value else " aucun"))
                for row in value:
                    label = row.get("name", "")
                    rest = ", ".join(f"{k} {_text(v)}" for k, v in row.items() if k != "name")
                    print(f"    - {label}: {rest}")
            else:
                print(f"  {name}: {_text(value)}")
    return 0


def _text(value: object) -> str:
    """A figure as the text format prints it: numbers and null as in JSON, text bare."""
    return str(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def cmd_fhir_bundle(args: argparse.Namespace) -> int:
    _setup_django()
    from maillage.bootstrap import initialise
    from maillage.directory.fhir.resources import export_territory_bundle

    initialise(progress=_say)
    output = args.output or f"annuaire-{args.territory.replace(':', '-')}.fhir.json"
    count = export_territory_bundle(args.territory, output)
    print(output)
    _say(f"{count} ressources FHIR écrites (Bundle de type collection)")
    return 0


def cmd_accessibility(args: argparse.Namespace) -> int:
    from maillage.analytics.accessibility import e2sfca, parse_weights
    from maillage.analytics.travel import costs_from_table
    from maillage.opendata.costs import read_cost_table
    from maillage.opendata.tables import read_id_values

    weights = parse_weights(args.weights)
    demand = read_id_values(args.demand, "population")
    supply = read_id_values(args.supply, "capacity")
    table = read_cost_table(args.costs)
    costs = costs_from_table(
        table,
        max_minutes=max(upper for upper, _ in weights),
        origin_ids=demand.index,
        destination_ids=supply.index,
    )
    result = e2sfca(demand, supply, costs, weights)
    out = result.rename("accessibility").rename_axis("id").reset_index()
    if args.output == "-":
        out.to_csv(sys.stdout, index=False)
    else:
        out.to_csv(args.output, index=False)
        _say(f"{len(out)} lignes écrites dans {args.output}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _setup_django()
    from maillage.bootstrap import initialise, needs_preparation, serve, serve_after

    if needs_preparation():
        # First start: answer at once with a progress page while the data is imported.
        serve_after(
            lambda state: initialise(progress=_say, state=state), args.host, args.port, _say
        )
    else:
        serve(args.host, args.port, progress=_say)
    return 0


def _announce_demo_accounts() -> None:
    from maillage.demo.accounts import demo_accounts_path, ensure_demo_accounts
    from maillage.demo.attachment import load_demo_waiting_list
    from maillage.demo.care import load_demo_gp_bookings
    from maillage.demo.letters import load_demo_discharges

    accounts = ensure_demo_accounts()
    load_demo_gp_bookings()  # the professional demo account's page "Mes patients"
    load_demo_discharges()  # a synthetic year of discharge letters (the hospital referent's)
    load_demo_waiting_list()  # the waiting list for a médecin traitant, its dashboard
    from maillage.demo.register import load_demo_register

    load_demo_register()  # the CCAS agent's register of Saint-Dizier
    _say(
        f"Comptes de démonstration ({', '.join(sorted(accounts))}) : identifiants et mots de "
        f"passe dans {demo_accounts_path()}"
    )


def cmd_demo(args: argparse.Namespace) -> int:
    _setup_django()
    from maillage.bootstrap import initialise, needs_preparation, serve, serve_after

    if not args.no_serve and needs_preparation():

        def prepare(state) -> None:
            initialise(progress=_say, state=state)
            _announce_demo_accounts()

        serve_after(prepare, args.host, args.port, _say)
        return 0
    initialise(progress=_say)
    _announce_demo_accounts()
    if args.no_serve:
        return 0
    serve(args.host, args.port, progress=_say)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Django's system checks (with ``--deploy``: its deployment checks and ours)."""
    _setup_django()
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    try:
        call_command("check", deploy=args.deploy, fail_level=args.fail_level)
    except SystemCheckError as exc:
        _say(str(exc))
        _say("Vérification échouée : corrigez les erreurs ci-dessus (voir docs/deploy.md).")
        return 1
    if args.deploy:
        _say("Configuration de production vérifiée : aucune erreur.")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _setup_django()
    from maillage.bootstrap import migrate
    from maillage.exports.tasks import run_worker

    migrate()
    _say("Processus de préparation en attente de travail (Ctrl+C pour arrêter)")
    try:
        run_worker(batch=args.batch)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_remind(args: argparse.Namespace) -> int:
    _setup_django()
    from maillage.directory.notify import remind_stale

    counts = remind_stale(args.mois)
    _say("Relances : " + ", ".join(f"{k} : {v}" for k, v in counts.items()))
    return 1 if counts["échecs"] else 0


def _parse_since(text: str):
    """``--since``: a date (midnight, Paris time) or a date and time, ISO 8601."""
    import datetime as dt

    from django.utils import timezone

    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"« {text} » n'est pas une date (AAAA-MM-JJ, ou AAAA-MM-JJTHH:MM)"
        ) from None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def cmd_audit(args: argparse.Namespace) -> int:
    """``maillage audit export --since DATE``: the audit log as CSV."""
    since = _parse_since(args.since)
    _setup_django()
    from maillage.bootstrap import migrate
    from maillage.care.people.audit import export_csv

    migrate()
    if args.output in (None, "-"):
        count = export_csv(since, sys.stdout)
    else:
        with open(args.output, "w", newline="", encoding="utf-8") as out:
            count = export_csv(since, out)
        print(args.output)
    _say(f"{count} événements du journal depuis le {since:%d/%m/%Y %H:%M}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """``maillage token create|revoke|list``: bearer tokens for scripts and partners."""
    _setup_django()
    from maillage.accounts import tokens
    from maillage.bootstrap import migrate

    migrate()
    if args.action == "create":
        row, token = tokens.create_token(args.username, name=args.name or "")
        _say(
            f"Jeton créé pour « {row.user.get_username()} » ({row.prefix}…) : il n'est affiché "
            "qu'une fois ; révocation : maillage token revoke " + row.prefix
        )
        print(token)
    elif args.action == "revoke":
        tokens.revoke_token(args.token)
        _say("Jeton révoqué.")
    else:
        for row in tokens.list_tokens(args.username):
            state = f"révoqué le {row.revoked_at:%d/%m/%Y}" if row.revoked_at else "actif"
            print(f"{row.prefix}…\t{row.user.get_username()}\t{row.created_at:%d/%m/%Y}\t{state}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    """``maillage keys rotate|generate``: the encryption keys of health free text."""
    if args.action == "generate":
        from maillage.care.people.crypto import generate_key

        print(generate_key())
        return 0
    _setup_django()
    from maillage.bootstrap import migrate
    from maillage.care.people.crypto import rotate_keys

    migrate()
    rows = rotate_keys(drop_old=args.drop_old)
    _say(f"Nouvelle clé en service ; {rows} lignes rechiffrées.")
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["maillage manage", *args.rest])
    return 0


# --- parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maillage",
        description="Planification et coordination territoriale en santé.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="initialise la base embarquée et lance l'application web")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-serve", action="store_true", help="initialiser seulement")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", help="lance l'application web")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="prépare en arrière-plan les documents demandés (exports)")
    p.add_argument("--batch", action="store_true", help="s'arrêter quand la file est vide")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("init", help="crée la base et importe les données ouvertes embarquées")
    p.add_argument("--force", action="store_true", help="réimporter même si déjà fait")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("import", help="importe un jeu de données (validé, transactionnel)")
    p.add_argument(
        "dataset",
        choices=["all", "geography", "finess", "apl", "cartosante", "insee", "synthetic",
                 "dispositifs", "agendas", "index", "rpps", "fhir"],
    )  # fmt: skip
    p.add_argument("path", nargs="?", help="fichier (par défaut : celui livré avec maillage)")
    p.add_argument("--departements", help="pour synthetic : codes séparés par des virgules")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("report", help="diagnostic territorial (HTML, PDF, XLSX ou JSON)")
    p.add_argument(
        "territory", help="departement:52, epci:200068666, commune:52121, ou un nom court"
    )
    p.add_argument("--format", default="html,pdf,xlsx", help="html,pdf,xlsx ou json")
    p.add_argument("--output", help="dossier de sortie (par défaut : le dossier courant)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("care", help="les chiffres des outils de coordination des soins")
    care = p.add_subparsers(dest="action", required=True)
    q = care.add_parser("summary", help="attente, registre, lettres de sortie")
    q.add_argument("territory", help="territoire (ex. departement:52, « Saint-Dizier »)")
    q.add_argument("--format", choices=["json", "text"], default="text")
    q.set_defaults(func=cmd_care)

    p = sub.add_parser("fhir-bundle", help="l'annuaire d'un territoire en un Bundle FHIR R4")
    p.add_argument("territory", help="departement:52, epci:200068666, ou un nom court")
    p.add_argument("--output", help="fichier JSON (par défaut : annuaire-<territoire>.fhir.json)")
    p.set_defaults(func=cmd_fhir_bundle)

    p = sub.add_parser("accessibility", help="indice E2SFCA sur vos propres fichiers")
    p.add_argument("--demand", required=True, help="CSV id,population")
    p.add_argument("--supply", required=True, help="CSV id,capacity")
    p.add_argument("--costs", required=True, help="CSV ou Parquet origin,destination,minutes")
    p.add_argument("--weights", default="10:1,15:0.6667,20:0.3333")
    p.add_argument("--output", default="-", help="CSV id,accessibility (- : sortie standard)")
    p.set_defaults(func=cmd_accessibility)

    p = sub.add_parser("check", help="vérifie la configuration (--deploy : pour la production)")
    p.add_argument("--deploy", action="store_true", help="vérifications de mise en production")
    p.add_argument(
        "--fail-level",
        default="ERROR",
        choices=["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"],
        help="niveau à partir duquel la vérification échoue (par défaut : ERROR)",
    )
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "relancer",
        help="envoie aux professionnels un courriel quand leur fiche est à revérifier",
    )
    p.add_argument("--mois", type=int, default=12, help="fiches non vérifiées depuis N mois")
    p.set_defaults(func=cmd_remind)

    p = sub.add_parser("audit", help="journal des accès aux données personnelles")
    audit = p.add_subparsers(dest="action", required=True)
    q = audit.add_parser("export", help="le journal en CSV (qui, quand, action, objet, finalité)")
    q.add_argument("--since", required=True, help="depuis cette date (AAAA-MM-JJ)")
    q.add_argument("--output", help="fichier CSV (par défaut : la sortie standard)")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("token", help="jetons d'API (Authorization: Bearer …)")
    token = p.add_subparsers(dest="action", required=True)
    q = token.add_parser("create", help="crée un jeton (affiché une fois, en dernière ligne)")
    q.add_argument("username")
    q.add_argument("--name", help="à quoi sert le jeton (plateforme partenaire, script…)")
    q = token.add_parser("revoke", help="révoque un jeton (entier, ou son début affiché)")
    q.add_argument("token")
    q = token.add_parser("list", help="liste les jetons (jamais leur valeur)")
    q.add_argument("username", nargs="?")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("keys", help="clés de chiffrement des données de santé")
    keys = p.add_subparsers(dest="action", required=True)
    q = keys.add_parser("rotate", help="nouvelle clé, et tout est rechiffré avec elle")
    q.add_argument("--drop-old", action="store_true", help="retirer ensuite les anciennes clés")
    keys.add_parser("generate", help="affiche une nouvelle clé (pour MAILLAGE_CARE_KEYS)")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("manage", help="commandes d'administration Django")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from maillage.imports import ImportConsistencyError
    from maillage.opendata.errors import DataFormatError

    try:
        return args.func(args)
    except (DataFormatError, ImportConsistencyError) as exc:
        _say(f"erreur : {exc}")
        _say("rien n'a été écrit.")
        return 2
    except LookupError as exc:
        if isinstance(exc, KeyError):
            raise
        _say(f"erreur : {exc.args[0] if exc.args else exc}")
        return 2
    except ValueError as exc:
        _say(f"erreur : {exc}")
        return 2
    except Exception as exc:
        from maillage.care.people.crypto import CareKeyError

        if not isinstance(exc, CareKeyError):
            raise
        _say(f"erreur : {exc}")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
