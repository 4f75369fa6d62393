"""The packaging files stay honest: every variable compose.yaml, the Caddyfile and the Dockerfile reference is
documented in .env.example, every setting they pass to the bot is a real setting, and the compose services run the
roles that exist."""
import re
from pathlib import Path

from bot.config import AppSettings

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), flags=re.MULTILINE))
SETTINGS = {name.upper() for section in AppSettings.SECTIONS.values() for name in section.model_fields}
# Variables of the base image and of Python/pip themselves, not ours to document.
RUNTIME = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK"}


def referenced() -> dict[str, set[str]]:
    compose = (ROOT / "compose.yaml").read_text()
    caddy = (ROOT / "deploy" / "Caddyfile").read_text()
    docker = (ROOT / "Dockerfile").read_text()
    return {
        "compose.yaml": set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose)),
        "deploy/Caddyfile": set(re.findall(r"\{\$([A-Z][A-Z0-9_]*)", caddy)),
        "Dockerfile": {name for line in re.findall(r"^ENV (.+(?:\\\n.+)*)", docker, flags=re.MULTILINE)
                       for name in re.findall(r"([A-Z][A-Z0-9_]*)=", line)} - RUNTIME,
    }


def test_every_referenced_variable_is_documented():
    missing = {where: sorted(names - DOCUMENTED) for where, names in referenced().items() if names - DOCUMENTED}
    assert not missing, f"document these in .env.example: {missing}"
    assert referenced()["compose.yaml"] >= {"POSTGRES_PASSWORD", "BOT_DOMAIN"}  # the parse finds them at all


def test_settings_passed_to_the_bot_exist():
    compose = (ROOT / "compose.yaml").read_text()
    block = compose.split("environment: &bot-env", 1)[1].split("restart:", 1)[0]
    passed = set(re.findall(r"^    ([A-Z][A-Z0-9_]*):", block, flags=re.MULTILINE))
    assert passed and passed <= SETTINGS, sorted(passed - SETTINGS)
    docker_settings = referenced()["Dockerfile"]
    assert docker_settings <= SETTINGS, sorted(docker_settings - SETTINGS)


def test_compose_runs_the_roles_that_exist():
    from bot.roles import ROLES

    compose = (ROOT / "compose.yaml").read_text()
    commands = set(re.findall(r'command: \["python", "-m", "bot", "(\w+)"\]', compose))
    assert commands == {"migrate", "web", "scheduler"} and {"web", "scheduler"} <= set(ROLES)
    assert '"python", "-m", "bot.export_models"' in compose and (ROOT / "bot" / "export_models.py").exists()
