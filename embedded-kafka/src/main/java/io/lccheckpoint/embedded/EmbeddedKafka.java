package io.lccheckpoint.embedded;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;

/**
 * A real single-node KRaft broker (Kafka from Maven Central, the same jars this program runs on) in a child JVM on
 * 127.0.0.1, with its data under a temporary directory. A shutdown hook stops it, so Ctrl-C (or SIGTERM) leaves no process
 * behind and its data directory goes with it. (A SIGKILL of this JVM cannot be caught: the broker would then stay.)
 */
public final class EmbeddedKafka implements AutoCloseable {
    private Process process;
    private final List<String> command;
    private final Path directory;
    private final String bootstrapServers;
    private final BrokerBytes.Jmx jmx;
    private final Thread shutdownHook;

    private EmbeddedKafka(Process process, List<String> command, Path directory, String bootstrapServers, BrokerBytes.Jmx jmx) {
        this.process = process;
        this.command = command;
        this.directory = directory;
        this.bootstrapServers = bootstrapServers;
        this.jmx = jmx;
        this.shutdownHook = new Thread(() -> {
            stop();
            TempDirectories.delete(directory);
        }, "lcckpt-embedded-kafka-stop");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Starts a broker and waits (at most {@code timeout}) until it answers. */
    public static EmbeddedKafka start(Duration timeout) throws IOException, InterruptedException {
        return start(timeout, Map.of());
    }

    /** With extra broker settings (e.g. the quota windows of the HAPI experiment). */
    public static EmbeddedKafka start(Duration timeout, Map<String, String> extra) throws IOException, InterruptedException {
        return start(timeout, extra, 0);
    }

    /** On a given port of 127.0.0.1 ({@code port} 0: a free one), as {@code lcckpt broker --port} asks. */
    public static EmbeddedKafka start(Duration timeout, Map<String, String> extra, int port) throws IOException, InterruptedException {
        Path directory = Files.createTempDirectory("lcckpt-kafka-");
        port = port == 0 ? freePort() : port;
        int controllerPort = freePort();
        Path properties = directory.resolve("server.properties");
        Files.writeString(properties, String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs=" + directory.resolve("data"),
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "message.max.bytes=8388608",
                "num.partitions=1",
                // topics are created by who owns them (TopicCreator, Kafka Streams): a client still sending to a job after
                // the broker was restarted empty must not create a one-partition raw topic that the encoder's changelogs
                // then take their partition count from (seen: the encoder died when a job of 4 partitions came next)
                "auto.create.topics.enable=false",
                extra.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(java.util.stream.Collectors.joining("\n")),
                ""));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("java.class.path");
        Path log = directory.resolve("kafka.log");
        run(List.of(java, "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", UUID.randomUUID().toString().substring(0, 22)
                .replace('-', 'A'), "-c", properties.toString()), log, timeout);
        int jmxPort = freePort();
        BrokerBytes.Jmx jmx = new BrokerBytes.Jmx("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + jmxPort + "/jmxrmi", "lcckpt",
                UUID.randomUUID().toString());
        List<String> command = new ArrayList<>(List.of(java, "-Xms256m", "-Xmx768m", "-XX:+UseSerialGC"));
        command.addAll(jmxOptions(directory, jmxPort, jmx));
        command.addAll(List.of("-cp", classpath, "kafka.Kafka", properties.toString()));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        EmbeddedKafka kafka = new EmbeddedKafka(process, List.copyOf(command), directory, "127.0.0.1:" + port, jmx);
        kafka.awaitReady(timeout);
        return kafka;
    }

    /**
     * The broker's metrics for {@link BrokerBytes}: a JMX connector on 127.0.0.1 only, one port for the registry and the
     * connections, a read-only user whose random password sits in a file only this user can read (the JVM refuses any
     * other), so that another local user cannot drive the broker's MBeans.
     */
    private static List<String> jmxOptions(Path directory, int port, BrokerBytes.Jmx jmx) throws IOException {
        Path password = directory.resolve("jmxremote.password");
        Path access = directory.resolve("jmxremote.access");
        Files.writeString(password, jmx.user() + " " + jmx.password() + "\n");
        Files.writeString(access, jmx.user() + " readonly\n");
        Files.setPosixFilePermissions(password, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        return List.of("-Dcom.sun.management.jmxremote.port=" + port, "-Dcom.sun.management.jmxremote.rmi.port=" + port,
                "-Dcom.sun.management.jmxremote.host=127.0.0.1", "-Djava.rmi.server.hostname=127.0.0.1",
                "-Dcom.sun.management.jmxremote.ssl=false", "-Dcom.sun.management.jmxremote.authenticate=true",
                "-Dcom.sun.management.jmxremote.password.file=" + password, "-Dcom.sun.management.jmxremote.access.file=" + access);
    }

    private static void run(List<String> command, Path log, Duration timeout) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) || process.exitValue() != 0) {
            process.destroyForcibly();
            throw new IOException("formatting the embedded broker's storage failed; see " + log);
        }
    }

    private void awaitReady(Duration timeout) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("the embedded broker exited with " + process.exitValue() + "; see " + directory.resolve("kafka.log"));
            }
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers, "request.timeout.ms", 2000, "default.api.timeout.ms", 3000))) {
                admin.describeCluster().nodes().get(3, TimeUnit.SECONDS);
                return;
            } catch (Exception e) {
                last = e;
                Thread.sleep(250);
            }
        }
        stop();
        throw new IOException("the embedded broker was not ready within " + timeout + "; see " + directory.resolve("kafka.log"), last);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return socket.getLocalPort();
        }
    }

    /** {@code 127.0.0.1:<port>}. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** The broker's JMX connector (read-only), for {@link BrokerBytes}. */
    public BrokerBytes.Jmx jmx() {
        return jmx;
    }

    /** Measures the bytes this broker writes per topic (its BytesIn metric over JMX). */
    public BrokerBytes brokerBytes() {
        return new BrokerBytes(bootstrapServers, List.of(jmx));
    }

    /** The broker's temporary directory (its data, its log {@code kafka.log}); deleted when it stops. */
    public Path directory() {
        return directory;
    }

    /** The broker dies at once (SIGKILL), its data stays: for fault tests, followed by {@link #restart}. */
    public synchronized void kill() throws InterruptedException {
        process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }

    /** Starts the broker again on the same data and ports after {@link #kill}. */
    public void restart(Duration timeout) throws IOException, InterruptedException {
        synchronized (this) {
            if (process.isAlive()) {
                throw new IllegalStateException("the broker is running");
            }
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(directory.resolve("kafka.log").toFile())).start();
        }
        awaitReady(timeout);
    }

    private synchronized void stop() {
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(15, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Stops the broker and deletes its data. */
    @Override
    public void close() {
        stop();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or ran already
        }
        TempDirectories.delete(directory);
    }
}
