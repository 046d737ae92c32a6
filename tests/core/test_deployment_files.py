"""Docker cannot run on these machines: check the compose file's wiring instead."""

import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_compose_has_the_five_services():
    default = {name for name, service in SERVICES.items() if not service.get("profiles")}
    assert default == {"postgres", "redis", "web", "worker-cpu", "worker-gpu"}


def test_the_optional_vllm_profile_serves_the_openai_api_on_reserved_gpus():
    vllm = SERVICES["vllm"]
    assert vllm["profiles"] == ["vllm"] and vllm["image"].startswith("vllm/vllm-openai")
    assert "--tensor-parallel-size" in vllm["command"] and "/health" in " ".join(vllm["healthcheck"]["test"])
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]


def test_postgres_keeps_its_data_in_a_volume_and_has_a_healthcheck():
    postgres = SERVICES["postgres"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_app_services_are_built_from_the_one_dockerfile_that_exists():
    for name in ("web", "worker-cpu", "worker-gpu"):
        build = SERVICES[name]["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
    assert (ROOT / "Dockerfile").is_file()


def test_each_service_command_names_a_program_that_exists():
    for name in ("web", "worker-cpu", "worker-gpu"):
        program = SERVICES[name]["command"][0]
        if "/" in program:
            assert (ROOT / program).is_file(), f"{name}: {program} is missing"
            assert (ROOT / program).stat().st_mode & 0o111, f"{name}: {program} is not executable"
        else:
            assert shutil.which(program, path=str(ROOT / ".venv" / "bin")), f"{name}: {program} not installed"


def test_web_migrates_on_start_and_serves_with_gunicorn():
    script = (ROOT / SERVICES["web"]["command"][0]).read_text()
    assert "manage.py migrate" in script and "gunicorn config.wsgi" in script


def test_workers_listen_on_their_queues_and_the_gpu_worker_runs_one_task_at_a_time():
    cpu = SERVICES["worker-cpu"]["command"]
    gpu = SERVICES["worker-gpu"]["command"]
    assert cpu[cpu.index("-Q") + 1] == "default"
    assert gpu[gpu.index("-Q") + 1] == "gpu"
    assert gpu[gpu.index("--concurrency") + 1] == "1"
    assert gpu[gpu.index("--prefetch-multiplier") + 1] == "1"
    devices = SERVICES["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]


def test_files_the_compose_file_refers_to_exist():
    for name in ("web", "worker-cpu", "worker-gpu"):
        for env_file in SERVICES[name].get("env_file", []):
            assert env_file["required"] is False or (ROOT / env_file["path"]).exists()
    assert (ROOT / ".env.example").is_file()


def test_env_example_documents_every_variable_the_settings_read():
    import re

    settings_source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', settings_source))
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - documented == set()
