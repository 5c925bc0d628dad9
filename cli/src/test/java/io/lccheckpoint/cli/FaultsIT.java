package io.lccheckpoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.embedded.EmbeddedKafka;
import io.lccheckpoint.schema.DeadLetter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fault suite (issues #11 and #12), with real processes: a KRaft broker in a child JVM that is SIGKILLed and restarted on its
 * data, the encoder as {@code lcckpt encoder} in a child JVM that is SIGKILLed or fails, a deterministic trainer in this
 * JVM. Every scenario is compared with a crash-free control run of the same job: every live record of the checkpoint and
 * index topics, byte for byte (the markers' wall-clock start time aside), and every retained step restored. The broker
 * runs with {@code auto.create.topics.enable=false}, as production brokers do.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultsIT {
    /** The long outage: at least 150 s (issue #11); {@code -Dlcckpt.faults.long.outage.seconds} shortens it for a quick local run. */
    private static final int LONG_OUTAGE_SECONDS = Integer.getInteger("lcckpt.faults.long.outage.seconds", 150);
    private static final Duration COMPLETE_WITHIN = Duration.ofMinutes(4);

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    static Path work;
    private static EmbeddedKafka kafka;
    private static FaultHarness.Snapshot control;

    @BeforeAll
    static void startBrokerAndRunTheControl() throws Exception {
        kafka = EmbeddedKafka.start(Duration.ofSeconds(60), Map.of("auto.create.topics.enable", "false"));
        FaultHarness run = new FaultHarness(kafka, work, "control");
        run.train(0, FaultHarness.LAST_STEP);
        try (FaultHarness.EncoderProcess encoder = run.startEncoder(Map.of())) {
            run.awaitComplete(FaultHarness.LAST_STEP, COMPLETE_WITHIN, encoder);
            assertThat(encoder.stop()).as("a SIGTERMed encoder closes cleanly: 143, the JVM's code for a SIGTERM").isEqualTo(143);
        }
        control = run.snapshot();
        assertThat(control.restored()).hasSizeGreaterThan(10);
        assertThat(control.deadLetters()).isEmpty();
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    @Order(2)
    void brokerKilledFor15SecondsWhileTheTrainerPublishes() throws Exception {
        FaultHarness run = new FaultHarness(kafka, work, "outage15");
        try (FaultHarness.EncoderProcess encoder = run.startEncoder(Map.of())) {
            Thread trainer = run.trainWhileTheEncoderRuns(encoder, 100);
            run.awaitComplete(10, COMPLETE_WITHIN, encoder);
            run.assertMidRun();
            kafka.kill();
            Thread.sleep(15_000);
            kafka.restart(Duration.ofSeconds(120));
            trainer.join(COMPLETE_WITHIN.toMillis());
            assertThat(run.trainerFailure()).as("the trainer rides a 15 s outage with its default settings").isNull();
            run.awaitComplete(FaultHarness.LAST_STEP, COMPLETE_WITHIN, encoder);
            assertThat(encoder.isAlive()).as("the encoder rides a 15 s outage").isTrue();
        }
        run.assertSameAs(control);
    }

    /** Minutes long: a soak, run by {@code mvn -B verify -Psoak} (and by CI after the test command), not by the default run. */
    @Test
    @Tag("soak")
    @Order(3)
    void brokerKilledForMinutesWhileBothSidesWorkLosesNoCommittedStep() throws Exception {
        // a trainer that should ride an outage longer than its client's 60 s waits says so (README, reliability)
        Map<String, Object> patient = Map.of("max.block.ms", 600_000, "delivery.timeout.ms", 600_000, "transaction.timeout.ms", 600_000);
        FaultHarness run = new FaultHarness(kafka, work, "outage-long").trainerSettings(patient);
        try (FaultHarness.EncoderProcess encoder = run.startEncoder(Map.of())) {
            Thread trainer = run.trainWhileTheEncoderRuns(encoder, 100);
            run.awaitComplete(10, COMPLETE_WITHIN, encoder);
            run.assertMidRun();
            kafka.kill();
            Thread.sleep(LONG_OUTAGE_SECONDS * 1000L);
            kafka.restart(Duration.ofSeconds(120));
            trainer.join(COMPLETE_WITHIN.toMillis());
            assertThat(run.trainerFailure()).as("the trainer committed every step").isNull();
            // the encoder rides the outage or exits loudly; a supervisor (here, the test) restarts one that exited
            if (encoder.awaitStepOrExit(run, FaultHarness.LAST_STEP, COMPLETE_WITHIN)) {
                assertThat(encoder.stop()).isEqualTo(143);
            } else {
                System.out.printf("FaultsIT: the encoder exited with %d after the outage; restarting it%n", encoder.exitCode());
                assertThat(encoder.exitCode()).isNotZero();
                run.restartAndFinish(COMPLETE_WITHIN);
            }
        }
        run.assertSameAs(control);
    }

    @Test
    @Order(4)
    void aStreamsFailureEndsTheEncoderNonZeroWithOneLineAndARestartLosesNothing() throws Exception {
        FaultHarness run = new FaultHarness(kafka, work, "fatal");
        run.train(0, FaultHarness.LAST_STEP);
        // the brokers refuse the first superstep: a write Streams cannot retry, so its stream thread dies
        setCheckpointTopicMaxMessageBytes(run, "20000");
        try (FaultHarness.EncoderProcess encoder = run.startEncoder(Map.of())) {
            assertThat(encoder.awaitExit(Duration.ofSeconds(90))).isEqualTo(1);
            List<String> why = encoder.log().lines().filter(line -> line.contains("lcckpt encoder exits with code 1")).toList();
            assertThat(why).hasSize(1);
            assertThat(why.get(0)).contains("RecordTooLargeException");
        }
        setCheckpointTopicMaxMessageBytes(run, Integer.toString(FaultHarness.RECORD_BYTES));
        run.restartAndFinish(COMPLETE_WITHIN);
        run.assertSameAs(control);
    }

    @Test
    @Order(6)
    void anEncoderOutOfMemoryExitsWithCode3AndARestartWithMoreHeapLosesNothing() throws Exception {
        FaultHarness run = new FaultHarness(kafka, work, "oom");
        run.train(0, FaultHarness.LAST_STEP);
        // a backlog of 55 MB of raw steps, fetched into a 40 MB heap (the case: a 50M-parameter job at -Xmx256m)
        try (FaultHarness.EncoderProcess encoder = run.startEncoder(Map.of("consumer.max.partition.fetch.bytes", 16 << 20,
                "buffered.records.per.partition", 5000), "40m")) {
            assertThat(encoder.awaitExit(Duration.ofSeconds(120))).as("out of memory: exit code 3").isEqualTo(3);
            assertThat(encoder.log()).containsAnyOf("Terminating due to java.lang.OutOfMemoryError", "lcckpt encoder exits with code 3");
        }
        run.restartAndFinish(COMPLETE_WITHIN);
        run.assertSameAs(control);
    }

    @Test
    @Order(5)
    void aStrayRecordOnATopicWithoutJobTopicsStopsNoOtherJob() throws Exception {
        FaultHarness run = new FaultHarness(kafka, work, "stray");
        String strayTopic = "stray.nobody.raw-deltas";
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(strayTopic, 1, (short) 1))).all().get();
        }
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(strayTopic, "junk".getBytes(), new byte[] {1, 2, 3, 4, 5})).get();
        }
        run.train(0, FaultHarness.LAST_STEP);
        try (FaultHarness.EncoderProcess encoder = run.startEncoder(Map.of())) {
            run.awaitComplete(FaultHarness.LAST_STEP, COMPLETE_WITHIN, encoder);
            List<DeadLetter> letters = run.encoderDeadLetters(1, Duration.ofSeconds(60));
            assertThat(letters).singleElement().satisfies(letter -> {
                assertThat(letter.getSourceTopic()).isEqualTo(strayTopic);
                assertThat(letter.getReason()).contains("job nobody has no topic stray.nobody.checkpoints");
            });
            assertThat(encoder.isAlive()).isTrue();
            assertThat(encoder.stop()).isEqualTo(143);
        }
        run.assertSameAs(control);
    }

    private static void setCheckpointTopicMaxMessageBytes(FaultHarness run, String bytes) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, run.topics().checkpoints(FaultHarness.JOB));
            admin.incrementalAlterConfigs(Map.of(topic, List.of(new AlterConfigOp(new ConfigEntry(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, bytes),
                    AlterConfigOp.OpType.SET)))).all().get();
        }
    }

    /**
     * A SIGKILLed encoder loses nothing and a restarted one codes again soon (issue #11), and rebuilds its state from the
     * books and the logs (issue #12: no full-size state changelog). 160 steps with the split switching storage → trainer
     * → storage, the encoder SIGKILLed three times (once in each phase) while the trainer publishes: every live record and
     * every restored step is the crash-free run's. From the broker: the changelog holds books (and a residual per
     * superstep while the encoder holds it), not a state per step; the raw-delta topic keeps about one superstep interval.
     * About 2.5 minutes with its own control run: part of the soak ({@code mvn -B verify -Psoak}, which CI runs after the
     * test command), so that the default run stays near 15 minutes on 2 cores.
     */
    @Test
    @Tag("soak")
    @Order(1)
    void sigkilledEncoderRebuildsItsStateFromTheLogsAcrossSplitSwitchesAndLosesNothing() throws Exception {
        long last = 160;
        java.util.function.LongFunction<io.lccheckpoint.producer.SplitPlanner.Split> split = step -> step >= 60 && step < 120
                ? io.lccheckpoint.producer.SplitPlanner.Split.TRAINER : io.lccheckpoint.producer.SplitPlanner.Split.STORAGE;
        FaultHarness controlRun = new FaultHarness(kafka, work, "rebuild-control", last, split);
        try (FaultHarness.EncoderProcess encoder = controlRun.startEncoder(Map.of())) {
            Thread trainer = controlRun.trainWhileTheEncoderRuns(encoder, 0);
            trainer.join(COMPLETE_WITHIN.toMillis());
            assertThat(controlRun.trainerFailure()).isNull();
            controlRun.awaitComplete(last, COMPLETE_WITHIN, encoder);
            assertThat(encoder.stop()).isEqualTo(143);
        }
        FaultHarness.Snapshot expected = controlRun.snapshot();

        FaultHarness run = new FaultHarness(kafka, work, "rebuild", last, split);
        int port = FaultHarness.freePort();
        FaultHarness.EncoderProcess encoder = run.startEncoder(Map.of("lcckpt.health.port", port));
        // a step every 500 ms: each recovery (10-25 s here) leaves the trainer well short of the last step
        Thread trainer = run.trainWhileTheEncoderRuns(encoder, 500);
        java.util.concurrent.atomic.AtomicLong mostRetained = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean sampling = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread sampler = new Thread(() -> {
            while (sampling.get()) {
                mostRetained.accumulateAndGet(run.rawRecordsKeptBehindTheEncoder(), Math::max);
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.start();
        List<Double> recoveries = new ArrayList<>();
        List<FaultHarness.EncoderProcess> restarted = new ArrayList<>();
        try {
            for (int complete : new int[] {20, 70, 125}) {
                run.awaitComplete(complete, COMPLETE_WITHIN, encoder);
                assertThat(health(port, "ready")).as("ready while running").isEqualTo(200);
                assertThat(health(port, "live")).as("live while running").isEqualTo(200);
                long before = run.latestComplete();
                assertThat(before).as("the trainer is still publishing, so there is a next step to wait for").isLessThan(last);
                encoder.kill();
                long killed = System.nanoTime();
                encoder = run.startEncoder(Map.of("lcckpt.health.port", port));
                run.awaitComplete(before + 1, COMPLETE_WITHIN, encoder);
                recoveries.add((System.nanoTime() - killed) / 1e9);
                restarted.add(encoder);
            }
            trainer.join(COMPLETE_WITHIN.toMillis());
            assertThat(run.trainerFailure()).isNull();
            run.awaitComplete(last, COMPLETE_WITHIN, encoder);
            // the trimmer deletes what no rebuild needs once the encoder's commit covers it (checked every 5 s)
            long recordsPerStep = 13 + 1;
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (run.retainedRawRecords() > 12 * recordsPerStep && System.nanoTime() < deadline) {
                Thread.sleep(500);
            }
            sampling.set(false);
            sampler.join();
            long retained = run.retainedRawRecords();
            assertThat(encoder.stop()).isEqualTo(143);
            run.assertSameAs(expected);
            assertThat(restarted).as("every restarted encoder rebuilt chunks' states from the logs")
                    .allSatisfy(process -> assertThat(process.log()).contains("rebuilt"));
            // the target is 15 s (README); 40 s only fails a regression to the old 45 s session timeout, not a slow machine
            assertThat(recoveries).allSatisfy(seconds -> assertThat(seconds).isLessThan(40));

            long model = FaultHarness.modelBytes();
            long changelog = run.topicBytes(run.chunkBookChangelog());
            long controlChangelog = controlRun.topicBytes(controlRun.chunkBookChangelog());
            System.out.printf("FaultsIT rebuild: from SIGKILL to the next step complete %s s; chunk-book changelog %,d bytes (control %,d) for %d steps"
                            + " of a %,d-byte model; raw-delta records consumed but kept at most %d during the run, %d retained at the end (%d per step)%n",
                    recoveries, changelog, controlChangelog, last, model, mostRetained.get(), retained, recordsPerStep);
            // before issue #12 the changelog took ũ and r at every step: 2 x model x steps
            assertThat(controlChangelog).as("changelog bytes of the crash-free run").isLessThan(2 * model * last / 10);
            // supersteps every 10 steps, the residual in the book at those of the storage split (2/3 of the run), plus small books
            assertThat(controlChangelog).isLessThan((last / 10 + 1) * model + 100_000);
            assertThat(retained).as("raw-delta records left: about one superstep interval (10 steps)").isLessThanOrEqualTo(12 * recordsPerStep);
            // during the run, of what the encoder had consumed: the interval (10 steps), the trimmer's lag (a commit, then
            // its 5 s tick: about 10 steps at 2 steps a second) and, right after each restart, what the trainer published
            // while no encoder ran (10-25 s: up to 50 steps), which the new one consumes faster than the trimmer follows.
            // Measured 58-87 steps' worth at most (87 on a CI run whose restarts took 14-17 s); a topic without trimming
            // keeps the whole run (161 steps): two thirds of the run tells the two apart with room for a slow restart
            assertThat(mostRetained.get()).as("raw-delta records the encoder had consumed still kept during the run: bounded, not growing with the run")
                    .isLessThan((last + 1) * recordsPerStep * 2 / 3);
        } finally {
            sampling.set(false);
            encoder.close();
        }
    }

    private static int health(int port, String what) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/" + what))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        return response.statusCode();
    }

    static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
