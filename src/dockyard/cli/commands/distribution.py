"""``login``, ``logout``, ``pull``, ``push`` — with the docker CLI's flags, prompts and messages."""

from __future__ import annotations

import getpass
import sys
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    from dockyard.cli.state import CliState
    from dockyard.engine.distribution import DistributionService, LoginResult, ProgressEvent
    from dockyard.engine.search import SearchResult
    from dockyard.errors import DockyardError

__all__ = ["login_cmd", "logout_cmd", "pull_cmd", "push_cmd", "search_cmd", "search_rows"]

if TYPE_CHECKING:
    _R = TypeVar("_R")

INDEX_SERVER = "https://index.docker.io/v1/"
REGISTER_SUGGEST = (
    "Log in with your Docker ID or email address to push and pull images from Docker Hub. "
    "If you don't have a Docker ID, head over to https://hub.docker.com/ to create one."
)
UNENCRYPTED_WARNING = (
    "\nWARNING! Your credentials are stored unencrypted in '{path}'.\n"
    "Configure a credential helper to remove this warning. See\n"
    "https://docs.docker.com/go/credential-store/\n"
)
CONTEXT = {"help_option_names": ["-h", "--help"]}


def _fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` on stderr and exit with ``code`` (1, as docker does for these)."""
    click.echo(message, err=True)
    sys.stdout.flush()
    sys.exit(code)


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _report(result: LoginResult) -> None:
    if result.unencrypted_file is not None:
        click.echo(UNENCRYPTED_WARNING.format(path=result.unencrypted_file), err=True)
    click.echo(result.status)


def _login_with(service: DistributionService, server: str | None, username: str, password: str) -> LoginResult:
    from dockyard.engine.distribution import CredentialsSaveError
    from dockyard.errors import DockyardError

    try:
        return service.login(server, username, password)
    except CredentialsSaveError as exc:
        _fail(exc.message)
    except DockyardError as exc:
        _fail(f"Error response from daemon: {exc.message}")


def _prompt_credentials(username: str, password: str, default_username: str, server_key: str) -> tuple[str, str]:
    """Docker's ``PromptUserForCredentials``: ``Username:`` (with the stored name as default), ``Password:``."""
    username = username.strip()
    if not username:
        if server_key == INDEX_SERVER:
            click.echo(REGISTER_SUGGEST)
        default_username = default_username.strip()
        prompt = f"Username ({default_username}): " if default_username else "Username: "
        click.echo(prompt, nl=False)
        line = sys.stdin.readline()
        username = line.rstrip("\r\n").strip() or default_username
        if not username:
            _fail("error: username is required")
    if not password.strip():
        password = getpass.getpass("Password: ")
        if not password:
            _fail("error: password is required")
    return username, password


@click.command("login", context_settings=CONTEXT)
@click.argument("server", required=False)
@click.option("-u", "--username", default="", help="Username")
@click.option("-p", "--password", default="", help="Password or Personal Access Token (PAT)")
@click.option("--password-stdin", is_flag=True, help="Take the Password or Personal Access Token (PAT) from stdin")
@click.pass_obj
def login_cmd(state: CliState, server: str | None, username: str, password: str, password_stdin: bool) -> None:
    """Authenticate to a registry.
    Defaults to Docker Hub if no server is specified."""
    if password:
        click.echo("WARNING! Using --password via the CLI is insecure. Use --password-stdin.", err=True)
        if password_stdin:
            _fail("--password and --password-stdin are mutually exclusive")
    if password_stdin:
        if not username:
            _fail("Must provide --username with --password-stdin")
        password = sys.stdin.read().removesuffix("\n").removesuffix("\r")

    service = state.engine.distribution
    if server == "docker.io":
        server = None
    from dockyard.engine.distribution import StoredCredentials
    from dockyard.errors import DockyardError, Unauthorized

    stored = StoredCredentials(service.server_key(server), "", "")
    if not username and not password:  # docker looks at saved credentials only when given neither
        try:
            stored = service.stored_credentials(server)
        except DockyardError:
            pass
    if stored.username and stored.password:
        click.echo(f"Authenticating with existing credentials... [Username: {stored.username}]")
        click.echo("To login with a different account, run 'docker logout' followed by 'docker login'\n")
        try:
            _report(service.login(server, stored.username, stored.password))
            return
        except Unauthorized:
            click.echo("Stored credentials invalid or expired", err=True)
        except DockyardError as exc:
            click.echo(f"Login did not succeed, error: {exc.message}", err=True)

    if (not username or not password) and not _stdin_is_terminal():
        _fail("Error: Cannot perform an interactive login from a non TTY device")
    username, password = _prompt_credentials(username, password, stored.username, stored.server_address)
    _report(_login_with(service, server, username, password))


@click.command("logout", context_settings=CONTEXT)
@click.argument("server", required=False)
@click.pass_obj
def logout_cmd(state: CliState, server: str | None) -> None:
    """Log out from a registry.
    If no server is specified, the default is defined by the daemon."""
    result = state.engine.distribution.logout(server)
    click.echo(f"Removing login credentials for {result.server_address}")
    if result.errors:
        click.echo("WARNING: could not erase credentials:", err=True)
        for key, error in result.errors:
            click.echo(f"{key}: {error}", err=True)


def _has_tag_or_digest(name: str) -> bool:
    return "@" in name or ":" in name.rsplit("/", 1)[-1]


def _check_reference(name: str) -> None:
    """The docker CLI parses the name itself and prints its error plainly (``invalid reference format``)."""
    from dockyard.errors import InvalidArgument
    from dockyard.oci.reference import parse_reference

    try:
        parse_reference(name)
    except InvalidArgument as exc:
        _fail(exc.message)


class _Output:
    """Forwards events to the printer (if any) and remembers whether anything was shown yet."""

    def __init__(self, quiet: bool) -> None:
        from dockyard.cli.progress import ProgressPrinter

        self.printer = None if quiet else ProgressPrinter(sys.stdout)
        self.started = False

    def __call__(self, event: ProgressEvent) -> None:
        self.started = True
        if self.printer is not None:
            self.printer(event)

    def fail(self, exc: DockyardError) -> NoReturn:
        """Docker's two ways of failing: before the stream started (an HTTP error) or inside it (plain text)."""
        if self.printer is not None:
            self.printer.close()
        _fail(exc.message if self.started else f"Error response from daemon: {exc.message}")

    def close(self) -> None:
        if self.printer is not None:
            self.printer.close()


_TLS_HELP = "Require HTTPS and verify certificates when contacting registries (default: as Docker decides)"


@click.command("pull", context_settings=CONTEXT)
@click.argument("name", metavar="NAME[:TAG|@DIGEST]")
@click.option("-a", "--all-tags", is_flag=True, help="Download all tagged images in the repository")
@click.option("--disable-content-trust", is_flag=True, default=True, hidden=True, help="Skip image verification")
@click.option(
    "--platform",
    envvar="DOCKER_DEFAULT_PLATFORM",
    metavar="string",
    help="Set platform if server is multi-platform capable",
)
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output")
@click.option("--tls-verify", type=click.BOOL, default=None, is_flag=False, flag_value=True, help=_TLS_HELP)
@click.pass_obj
def pull_cmd(
    state: CliState,
    name: str,
    all_tags: bool,
    disable_content_trust: bool,
    platform: str | None,
    quiet: bool,
    tls_verify: bool | None,
) -> None:
    """Download an image from a registry."""
    from dockyard.engine.distribution import PullOptions

    options = PullOptions(all_tags, platform, quiet, tls_verify)
    report = _transfer(name, all_tags, quiet, lambda out: state.engine.distribution.pull(name, options, out))
    click.echo(report.reference)


def _transfer(name: str, all_tags: bool, quiet: bool, run: Callable[[_Output], _R]) -> _R:
    """What pull and push share: the reference checked as Docker checks it, "Using default tag", the progress
    output (``run`` gets it), and an error in Docker's words with its exit code."""
    from dockyard.errors import DockyardError

    _check_reference(name)
    if all_tags and _has_tag_or_digest(name):
        _fail("tag can't be used with --all-tags/-a")
    if not quiet and not all_tags and not _has_tag_or_digest(name):
        click.echo("Using default tag: latest")
    out = _Output(quiet)
    try:
        report = run(out)
    except DockyardError as exc:
        out.fail(exc)
    out.close()
    return report


@click.command("push", context_settings=CONTEXT)
@click.argument("name", metavar="NAME[:TAG]")
@click.option("-a", "--all-tags", is_flag=True, help="Push all tags of an image to the repository")
@click.option("--disable-content-trust", is_flag=True, default=True, hidden=True, help="Skip image signing")
@click.option("--platform", metavar="string", help="Push a platform-specific manifest as a single-platform image")
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output")
@click.option("--tls-verify", type=click.BOOL, default=None, is_flag=False, flag_value=True, help=_TLS_HELP)
@click.pass_obj
def push_cmd(
    state: CliState,
    name: str,
    all_tags: bool,
    disable_content_trust: bool,
    platform: str | None,
    quiet: bool,
    tls_verify: bool | None,
) -> None:
    """Upload an image to a registry."""
    from dockyard.engine.distribution import PushOptions

    options = PushOptions(all_tags, platform, quiet, tls_verify)
    report = _transfer(name, all_tags, quiet, lambda out: state.engine.distribution.push(name, options, out))
    if quiet:
        click.echo(report.reference)


SEARCH_HEADERS = [
    ("NAME", "Name"),
    ("DESCRIPTION", "Description"),
    ("STARS", "StarCount"),
    ("OFFICIAL", "IsOfficial"),
    ("AUTOMATED", "IsAutomated"),
]


def search_rows(results: list[SearchResult], *, trunc: bool = True) -> list[dict[str, str]]:
    """The fields ``--format`` sees, as docker 20.10's search formatter gives them."""
    rows = []
    for r in results:
        desc = r.description.replace("\n", " ").replace("\r", " ")
        if trunc and len(desc) > 45:
            desc = desc[:44] + "…"
        rows.append(
            {
                "Name": r.name,
                "Description": desc,
                "StarCount": str(r.star_count),
                "IsOfficial": "[OK]" if r.is_official else "",
                "IsAutomated": "[OK]" if r.is_automated else "",
            }
        )
    return rows


@click.command("search", context_settings=CONTEXT)
@click.argument("term")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output based on conditions provided")
@click.option("--format", "fmt", default=None, help="Pretty-print search using a Go template")
@click.option("--limit", default=25, type=int, show_default=True, help="Max number of search results")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.pass_obj
def search_cmd(
    state: CliState, term: str, filters: tuple[str, ...], fmt: str | None, limit: int, no_trunc: bool
) -> None:
    """Search registries for images (Docker Hub by default; HOST[:PORT]/TERM searches that registry)."""
    from dockyard.cli.output import render_rows
    from dockyard.engine.search import parse_filters

    results = state.engine.distribution.search(term, limit, parse_filters(list(filters)))
    render_rows(fmt, search_rows(results, trunc=not no_trunc), SEARCH_HEADERS)
