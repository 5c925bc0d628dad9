"""The lc-checkpoint JVM this client drives: where its jar is, and how to start it.

The client does not reimplement the codec or the Kafka producer: it starts ``java -jar lcckpt.jar bridge`` (the Java
producer, driven over JSON lines on its stdin/stdout with tensor values in shared memory, as PySpark drives its JVM),
and ``lcckpt.jar restore``/``steps`` for reading. One codec, one producer: a Python trainer's chain is the Java
producer's, byte for byte.
"""
import os
import shutil
import subprocess
import tempfile

from .errors import LcckptError


def find_jar(jar=None):
    """The lcckpt.jar to run: ``jar``, else $LCCKPT_JAR, else cli/target/lcckpt.jar beside an ``lcckpt`` script on PATH,
    else the repository this package was loaded from (a source checkout)."""
    candidates = []
    if jar:
        candidates.append(jar)
    if os.environ.get("LCCKPT_JAR"):
        candidates.append(os.environ["LCCKPT_JAR"])
    script = shutil.which("lcckpt")
    if script:
        candidates.append(os.path.join(os.path.dirname(os.path.realpath(script)), "cli", "target", "lcckpt.jar"))
    here = os.path.dirname(os.path.abspath(__file__))
    candidates.append(os.path.join(here, "..", "..", "cli", "target", "lcckpt.jar"))
    for candidate in candidates:
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    raise LcckptError("cannot find lcckpt.jar (looked at: %s): build it in the lc-checkpoint repository with "
                      "`mvn -q package -DskipTests` (or run ./lcckpt once) and set LCCKPT_JAR=<repo>/cli/target/lcckpt.jar"
                      % ", ".join(candidates))


def java():
    """The java executable: $JAVA_HOME/bin/java, else java on PATH (Java 17 or newer)."""
    home = os.environ.get("JAVA_HOME")
    if home and os.path.isfile(os.path.join(home, "bin", "java")):
        return os.path.join(home, "bin", "java")
    found = shutil.which("java")
    if not found:
        raise LcckptError("no java on PATH (and no JAVA_HOME): lc-checkpoint's client runs a Java 17+ JVM")
    return found


def kafka_config(bootstrap_servers=None, config=None, **settings):
    """Kafka and lcckpt settings as one dict: ``config`` as given, then keyword settings with '_' read as '.'
    (``security_protocol="SASL_SSL"`` is ``security.protocol``), then ``bootstrap_servers``."""
    merged = dict(config or {})
    for key, value in settings.items():
        if value is not None:
            merged[key.replace("_", ".")] = value
    if bootstrap_servers:
        merged["bootstrap.servers"] = bootstrap_servers
    if "bootstrap.servers" not in merged:
        raise LcckptError("no Kafka to talk to: give bootstrap_servers= (or bootstrap.servers in config)")
    return {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in merged.items()}


def run_command(args, settings, jar=None, timeout=None):
    """Runs ``lcckpt <args> --config <settings as a properties file>``; returns its stdout, or raises LcckptError with
    the command's own one-line reason."""
    with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as properties:
        for key, value in settings.items():
            properties.write("%s=%s\n" % (key, value.replace("\\", "\\\\").replace("\n", "\\n")))
        path = properties.name
    try:
        done = subprocess.run([java(), "-jar", find_jar(jar)] + list(args) + ["--config", path],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    finally:
        os.unlink(path)
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        lines = [line for line in stderr.splitlines() if line.startswith("lcckpt ")]
        raise LcckptError(lines[-1] if lines else stderr.strip() or "lcckpt %s exited with %d" % (args[0], done.returncode))
    return done.stdout.decode("utf-8")
