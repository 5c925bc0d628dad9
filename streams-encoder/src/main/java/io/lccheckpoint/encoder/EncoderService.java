package io.lccheckpoint.encoder;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KafkaStreams.State;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The encoder as a process ({@code lcckpt encoder}): it runs until stopped (SIGTERM: a clean close, and the JVM's exit
 * code for a SIGTERM, 143) or until it cannot go on, and then exits non-zero within 30 s with one log line saying why, so that a supervisor restarts it (issue #11: a
 * Streams client that shut itself down used to leave a JVM doing nothing). Exit codes:
 * <ul>
 *   <li>1: Kafka Streams failed (a stream thread died: a write the brokers refused, a bug; the client went to
 *       {@code PENDING_ERROR}/{@code ERROR}), or the encoder could not start;</li>
 *   <li>3: out of memory (also the JVM's own code with {@code -XX:+ExitOnOutOfMemoryError});</li>
 *   <li>4: a stream thread was stuck in one call for {@code lcckpt.stall.exit.ms} (brokers gone for that long).</li>
 * </ul>
 * Exiting never loses a committed step: under exactly-once each stream thread's work is one transaction, which a
 * process that stops mid-way leaves uncommitted (it is aborted), and a restart redoes it from the committed offsets.
 * With {@code lcckpt.health.port} set, {@code /health/live} and {@code /health/ready} answer by the Streams state.
 */
public final class EncoderService {
    public static final int EXIT_STREAMS_FAILED = 1;
    public static final int EXIT_OUT_OF_MEMORY = 3;
    public static final int EXIT_STALLED = 4;
    /** How often the encoder logs its progress line. */
    static final Duration PROGRESS_LOG_INTERVAL = Duration.ofMinutes(1);
    private static final Logger LOG = LoggerFactory.getLogger(EncoderService.class);
    /** Between the decision to exit and the exit itself, at most (the issue asks for 30 s). */
    private static final Duration EXIT_GRACE = Duration.ofSeconds(20);

    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private final AtomicReference<Throwable> firstError = new AtomicReference<>();

    private EncoderService() {
    }

    /** Runs the encoder; returns the process's exit code for a failure, which the caller passes to System.exit. */
    public static int run(Map<String, ?> config) throws InterruptedException {
        return new EncoderService().serve(config);
    }

    private int serve(Map<String, ?> config) throws InterruptedException {
        Thread.setDefaultUncaughtExceptionHandler((thread, error) -> {
            if (isOutOfMemory(error)) {
                halt(EXIT_OUT_OF_MEMORY, "out of memory in thread " + thread.getName() + ": " + error);
            }
            LOG.error("uncaught exception in thread {}", thread.getName(), error);
        });
        EncoderSettings settings = new EncoderSettings(config);
        TaskHeartbeats heartbeats = new TaskHeartbeats();
        KafkaStreams streams;
        try {
            streams = EncoderApp.create(settings, heartbeats, (newState, oldState) -> {
                if (newState == State.RUNNING) {
                    // once when it starts, and after each rebalance: the line operators wait for
                    LOG.info("lcckpt encoder ready: Kafka Streams is RUNNING (was {})", oldState);
                }
                if (newState == State.PENDING_ERROR || newState == State.ERROR) {
                    Throwable cause = firstError.get();
                    fail(EXIT_STREAMS_FAILED, "Kafka Streams went from " + oldState + " to " + newState + (cause == null ? "" : " after: " + describe(cause)));
                }
            });
        } catch (org.apache.kafka.common.KafkaException e) {
            LOG.error("lcckpt encoder exits with code {}: cannot start: {}", EXIT_STREAMS_FAILED, describe(e));
            return EXIT_STREAMS_FAILED;
        }
        streams.setUncaughtExceptionHandler(error -> {
            firstError.compareAndSet(null, error);
            if (isOutOfMemory(error)) {
                halt(EXIT_OUT_OF_MEMORY, "out of memory in a stream thread: " + describe(error));
            }
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        EncoderApp.HeapSampler heap = new EncoderApp.HeapSampler();
        HttpServer health = startHealth(settings, streams);
        Thread watchdog = watchdog(heartbeats, settings.getLong(EncoderSettings.STALL_EXIT_MS_CONFIG));
        Thread progress = progressLog(streams);
        Thread hook = new Thread(() -> {
            // SIGTERM (or System.exit after a failure): a clean close commits what is processed
            exit.complete(0);
            System.out.println("lcckpt encoder memory figures " + EncoderApp.memoryFigures(streams, settings, heap.peak()));
            streams.close(EXIT_GRACE);
        }, "lcckpt-encoder-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        streams.start();
        LOG.info("lcckpt encoder started: topic prefix {}, application id {}", settings.getString(EncoderSettings.TOPIC_PREFIX_CONFIG),
                EncoderApp.streamsConfig(settings).get("application.id"));
        int code;
        try {
            code = exit.get();
        } catch (ExecutionException e) {
            code = EXIT_STREAMS_FAILED;
        }
        watchdog.interrupt();
        progress.interrupt();
        if (health != null) {
            health.stop(0);
        }
        if (code != 0) {
            // a failed client is closed already (SHUTDOWN_CLIENT); a stalled one is not closed cleanly on purpose
            haltAfter(EXIT_GRACE.plusSeconds(5), code);
        }
        return code;
    }

    /** Decides to exit with {@code code}; the first decision wins. */
    private void fail(int code, String reason) {
        if (exit.complete(code)) {
            LOG.error("lcckpt encoder exits with code {}: {}", code, reason);
        }
    }

    /** Out of memory: no clean-up (it may need memory), the line and the exit. */
    private static void halt(int code, String reason) {
        System.err.println("lcckpt encoder exits with code " + code + ": " + reason);
        System.err.flush();
        Runtime.getRuntime().halt(code);
    }

    /** If the normal exit (shutdown hooks included) has not happened by then, the process ends anyway. */
    private static void haltAfter(Duration delay, int code) {
        Thread timer = new Thread(() -> {
            try {
                Thread.sleep(delay.toMillis());
            } catch (InterruptedException e) {
                return;
            }
            halt(code, "did not exit within " + delay.toSeconds() + " s of deciding to; halting");
        }, "lcckpt-encoder-exit-timer");
        timer.setDaemon(true);
        timer.start();
    }

    /** One line a minute: the state, the records processed in the minute and in all, and the dead letters in all. */
    private Thread progressLog(KafkaStreams streams) {
        Thread thread = new Thread(() -> {
            double before = 0;
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(PROGRESS_LOG_INTERVAL.toMillis());
                } catch (InterruptedException e) {
                    return;
                }
                double processed = 0;
                double deadLetters = 0;
                for (var metric : streams.metrics().values()) {
                    if (metric.metricValue() instanceof Double value && !value.isNaN()) {
                        String group = metric.metricName().group();
                        switch (metric.metricName().name()) {
                            case "process-total" -> processed += group.equals("stream-thread-metrics") ? value : 0;
                            case "dead-letters-total" -> deadLetters += value;
                            default -> { }
                        }
                    }
                }
                LOG.info("lcckpt encoder: {}, {} records processed in the last minute ({} in all), {} dead letters in all", streams.state(),
                        (long) (processed - before), (long) processed, (long) deadLetters);
                before = processed;
            }
        }, "lcckpt-encoder-progress-log");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    private Thread watchdog(TaskHeartbeats heartbeats, long stallMs) {
        Thread thread = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                long silence = heartbeats.longestSilenceMs();
                if (silence > stallMs) {
                    fail(EXIT_STALLED, "task " + heartbeats.stalest() + " has not come round its stream thread's loop for " + silence / 1000
                            + " s (lcckpt.stall.exit.ms=" + stallMs + "): the thread is stuck, most likely in a commit or a write to brokers"
                            + " that are unreachable; exiting so that a restart goes on from the last commit");
                    return;
                }
                try {
                    Thread.sleep(Math.min(1000, stallMs / 4));
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "lcckpt-encoder-stall-watchdog");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    private HttpServer startHealth(EncoderSettings settings, KafkaStreams streams) {
        int port = settings.getInt(EncoderSettings.HEALTH_PORT_CONFIG);
        if (port < 0) {
            return null;
        }
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress(settings.getString(EncoderSettings.HEALTH_ADDRESS_CONFIG), port), 0);
            server.createContext("/health/live", exchange -> {
                State state = streams.state();
                boolean live = !exit.isDone() && state != State.PENDING_ERROR && state != State.ERROR && state != State.NOT_RUNNING;
                respond(exchange, live, state);
            });
            server.createContext("/health/ready", exchange -> {
                State state = streams.state();
                respond(exchange, !exit.isDone() && state == State.RUNNING, state);
            });
            server.setExecutor(null);
            server.start();
            LOG.info("lcckpt encoder health endpoint on http://{}:{}/health/live and /health/ready", server.getAddress().getHostString(),
                    server.getAddress().getPort());
            return server;
        } catch (IOException e) {
            throw new org.apache.kafka.common.KafkaException("cannot open the health endpoint on port " + port + ": " + e.getMessage(), e);
        }
    }

    private static void respond(com.sun.net.httpserver.HttpExchange exchange, boolean ok, State state) throws IOException {
        byte[] body = ("{\"state\":\"" + state + "\",\"ok\":" + ok + "}\n").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(ok ? 200 : 503, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    private static boolean isOutOfMemory(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof OutOfMemoryError) {
                return true;
            }
        }
        return false;
    }

    /** The root cause first: Streams wraps the reason in a StreamsException or two. */
    private static String describe(Throwable error) {
        Throwable root = error;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == error ? error.toString() : root + " (in " + error.getClass().getSimpleName() + ": " + error.getMessage() + ")";
    }
}
