package io.lccheckpoint.experiments;

import static io.lccheckpoint.experiments.Console.say;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lccheckpoint.embedded.BrokerBytes;
import io.lccheckpoint.embedded.EmbeddedKafka;
import io.lccheckpoint.embedded.TempDirectories;
import io.lccheckpoint.encoder.EncoderApp;
import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.restorer.RestoreException;
import io.lccheckpoint.restorer.Restorer;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.kafka.Topics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The pipeline benchmark of issue #3, every ratio from one run on one broker (a real KRaft broker in a child JVM on
 * loopback): Kafka's own producer throughput for the raw bytes, the raw-delta throughput the encoder sustains, the
 * checkpoint bytes per step, and restoring a large state with supersteps against reading the same bytes raw; for each
 * split (issue #12) the bytes the broker wrote per step by kind of topic ({@link BrokerBytes}). Each split's runs have a
 * topic prefix of their own, so that one split's encoder codes none of the other's jobs.
 */
public final class PipelineBenchmark {
    /**
     * The model sizes and steps of the throughput, restore and recovery runs (0 recovery parameters: none), the encoder's
     * stream threads and state store, the splits (storage, trainer or both), an optional JSON file for the figures, and
     * the main class of {@code lcckpt} (child JVMs run its {@code encoder} and {@code restore} commands).
     */
    public record Options(int encodeParams, int encodeSteps, int restoreParams, int restoreSteps, int streamThreads, String stateStore,
                          String split, int recoveryParams, Path json, String lcckptMainClass) {
    }

    private final int encodeParams;
    private final int encodeSteps;
    private final int restoreParams;
    private final int restoreSteps;
    private final int streamThreads;
    private final String stateStore;
    private final String split;
    private final int recoveryParams;
    private final Path json;
    private final String lcckptMainClass;
    private final RestoreRuns restoreRuns;

    public PipelineBenchmark(Options options) {
        this.encodeParams = options.encodeParams();
        this.encodeSteps = options.encodeSteps();
        this.restoreParams = options.restoreParams();
        this.restoreSteps = options.restoreSteps();
        this.streamThreads = options.streamThreads();
        this.stateStore = options.stateStore();
        this.split = options.split();
        this.recoveryParams = options.recoveryParams();
        this.json = options.json();
        this.lcckptMainClass = options.lcckptMainClass();
        this.restoreRuns = new RestoreRuns(this, options);
    }

    /** One split's figures; NaN where not measured. */
    record SplitFigures(String split, double encoderMiBs, double checkpointBytesPerStep, Map<String, Long> brokerBytes, String brokerSource,
            int steps, CheckpointRecordBytes.SuperstepShare superstepShare, double restoreSeconds, double rawReadSeconds, double recoverySeconds,
            Map<String, Long> steadyBrokerBytes) {
        double brokerBytesPerStep(String kind) {
            return brokerBytes.getOrDefault(kind, 0L) / (double) steps;
        }

        double steadyBytesPerStep(String kind) {
            return steadyBrokerBytes.getOrDefault(kind, 0L) / (double) STEADY_STEPS;
        }
    }

    /** What the throughput run measured. */
    private record Throughput(double encoderMiBs, double checkpointBytesPerStep, Map<String, Long> brokerBytes, String brokerSource,
            int steps, CheckpointRecordBytes.SuperstepShare superstepShare, Map<String, Long> steadyBrokerBytes) {
    }

    /** Steps of the steady-state phase after the throughput run: the bytes per step between supersteps. */
    static final int STEADY_STEPS = 5;

    public void run() throws Exception {
        List<String> splits = switch (split) {
            case "both" -> List.of("storage", "trainer");
            case "storage", "trainer" -> List.of(split);
            default -> throw new IllegalArgumentException("--split must be storage, trainer or both, not '" + split + "'");
        };
        say("machine: %d cores, max heap %d MiB", Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20);
        List<SplitFigures> figures = new ArrayList<>();
        double produceMiBs;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(Duration.ofSeconds(90)); BrokerBytes brokerBytes = kafka.brokerBytes()) {
            String bootstrap = kafka.bootstrapServers();
            long rawBytes = 4L * encodeParams * encodeSteps;
            produceMiBs = rawProduce(bootstrap, rawBytes);
            say("kafka producer, %d MiB in 512 KiB records (acks=all, linger 5 ms, 1 MiB batches): %.1f MiB/s", rawBytes >> 20, produceMiBs);

            for (String split : splits) {
                say("");
                say("split=%s", split);
                Throughput encode = encodeThroughput(bootstrap, brokerBytes, split);
                say("%s (%d stream threads, %s state store), %d steps of %,d parameters: %.1f MiB/s of raw deltas sustained = %.0f%% of the producer's %.1f MiB/s",
                        split.equals("storage") ? "encoder" : "trainer-side coding (producer) + encoder", streamThreads, stateStore, encodeSteps, encodeParams,
                        encode.encoderMiBs(), 100 * encode.encoderMiBs() / produceMiBs, produceMiBs);
                say("checkpoint bytes per step (between supersteps, from the step-complete markers): %,.0f vs %,d full = %.1fx smaller",
                        encode.checkpointBytesPerStep(), 4L * encodeParams, 4.0 * encodeParams / encode.checkpointBytesPerStep());
                reportBrokerBytes(encode);

                double[] restore = restoreRuns.restoreVersusRawRead(bootstrap, split);
                say("restore of %,d parameters (%d MiB) from a superstep + %d deltas: %.2f s; raw read of the same bytes from Kafka: %.2f s; ratio %.2fx",
                        restoreParams, (4L * restoreParams) >> 20, restoreSteps, restore[0], restore[1], restore[0] / restore[1]);
                if (split.equals(splits.get(0))) {
                    long modelMiB = (4L * restoreParams) >> 20;
                    for (double factor : new double[] {1.5, 1.0}) {
                        long heap = (long) Math.ceil(factor * modelMiB) + 64;
                        String outcome = restoreRuns.restoreInChildJvm(bootstrap, split, heap);
                        say("lcckpt restore --latest in a child JVM at -Xmx%dm (%.1fx the model's %d MiB + 64 MiB): %s", heap, factor, modelMiB, outcome);
                    }
                }
                double recovery = Double.NaN;
                if (recoveryParams > 0) {
                    recovery = restoreRuns.recoverySeconds(bootstrap, split);
                    say("recovery: encoder (child JVM) SIGKILLed mid-run with the trainer publishing every %d ms (%,d parameters), restarted at once:"
                            + " %.1f s from the kill to the next step complete", RestoreRuns.RECOVERY_STEP_MILLIS, recoveryParams, recovery);
                }
                figures.add(new SplitFigures(split, encode.encoderMiBs(), encode.checkpointBytesPerStep(), encode.brokerBytes(), encode.brokerSource(),
                        encode.steps(), encode.superstepShare(), restore[0], restore[1], recovery, encode.steadyBrokerBytes()));
            }
        }
        say("");
        for (SplitFigures f : figures) {
            String bytesTarget = bytesTarget(f.split(), f.brokerBytes(), "steps 0.." + encodeSteps) + "; "
                    + bytesTarget(f.split(), f.steadyBrokerBytes(), "steady state");
            say("targets, split=%s: encoder >= 60%% of raw produce (issue #12): %s; restore <= 3x raw read: %s; %s",
                    f.split(), f.encoderMiBs() >= 0.6 * produceMiBs ? "met" : String.format(Locale.ROOT, "MISSED (%.0f%%)", 100 * f.encoderMiBs() / produceMiBs),
                    f.restoreSeconds() <= 3 * f.rawReadSeconds() ? "met" : String.format(Locale.ROOT, "MISSED (%.2fx)", f.restoreSeconds() / f.rawReadSeconds()),
                    bytesTarget);
        }
        if (json != null) {
            writeJson(json, produceMiBs, figures);
            say("figures written to %s", json);
        }
    }

    /** Issue #12's broker-bytes target for the split: against raw deltas + checkpoints (storage), or checkpoints (trainer). */
    private static String bytesTarget(String split, Map<String, Long> bytes, String when) {
        long total = bytes.getOrDefault("total", 0L);
        return split.equals("storage")
                ? target(total / (double) (bytes.getOrDefault("raw-deltas", 0L) + bytes.getOrDefault("checkpoints", 0L)), 1.15,
                        "broker bytes / (raw deltas + checkpoints), " + when)
                : target(total / (double) bytes.getOrDefault("checkpoints", 0L), 1.5, "broker bytes / checkpoints, " + when);
    }

    /** "<what> X.XX <= T (issue #12): met", or MISSED. */
    private static String target(double ratio, double limit, String what) {
        return String.format(Locale.ROOT, "%s %.2f <= %.2f (issue #12): %s", what, ratio, limit, ratio <= limit ? "met" : "MISSED");
    }

    private void reportBrokerBytes(Throughput encode) {
        say("bytes the broker wrote per step, by kind of topic (steps 0..%d, the initial superstep included; %s):", encodeSteps, encode.brokerSource());
        long total = encode.brokerBytes().get("total");
        encode.brokerBytes().forEach((kind, bytes) -> say("  %-40s %,14.0f  %5.1f%%", kind, bytes / (double) encode.steps(), 100.0 * bytes / total));
        long steadyTotal = encode.steadyBrokerBytes().getOrDefault("total", 0L);
        say("the same, steady state (steps %d..%d, both sides running, no superstep among them):", encodeSteps + 1, encodeSteps + STEADY_STEPS);
        encode.steadyBrokerBytes().forEach((kind, bytes) -> say("  %-40s %,14.0f  %5.1f%%", kind, bytes / (double) STEADY_STEPS,
                100.0 * bytes / Math.max(1, steadyTotal)));
        say("superstep share of the checkpoint topic (superstep records' key + value bytes / all its records', from the records): %.1f%%",
                100 * encode.superstepShare().share());
        say("  the same without the generation's initial state (which every policy writes): %.1f%%", 100 * encode.superstepShare().shareWithoutInitialStates());
    }

    private void writeJson(Path file, double produceMiBs, List<SplitFigures> figures) throws java.io.IOException {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        root.put("encode_params", encodeParams).put("encode_steps", encodeSteps).put("restore_params", restoreParams).put("restore_steps", restoreSteps)
                .put("stream_threads", streamThreads).put("state_store", stateStore).put("cores", Runtime.getRuntime().availableProcessors());
        ObjectNode splits = root.putObject("splits");
        for (SplitFigures f : figures) {
            ObjectNode node = splits.putObject(f.split());
            node.put("producer_mib_s", produceMiBs);
            node.put("encoder_mib_s", f.encoderMiBs());
            node.put("full_state_bytes", 4L * encodeParams);
            node.put("checkpoint_bytes_per_step", f.checkpointBytesPerStep());
            ObjectNode perStep = node.putObject("broker_bytes_per_step");
            f.brokerBytes().keySet().forEach(kind -> perStep.put(kind, f.brokerBytesPerStep(kind)));
            node.put("broker_bytes_source", f.brokerSource());
            node.put("broker_bytes_steps", f.steps());
            ObjectNode steadyPerStep = node.putObject("broker_bytes_per_step_steady");
            f.steadyBrokerBytes().keySet().forEach(kind -> steadyPerStep.put(kind, f.steadyBytesPerStep(kind)));
            node.put("broker_bytes_steady_steps", STEADY_STEPS);
            node.put("superstep_share", f.superstepShare().share());
            node.put("superstep_share_without_initial_states", f.superstepShare().shareWithoutInitialStates());
            node.put("superstep_share_source", "checkpoint topic records (key + value bytes)");
            node.put("restore_s", f.restoreSeconds());
            node.put("raw_read_s", f.rawReadSeconds());
            if (!Double.isNaN(f.recoverySeconds())) {
                node.put("recovery_s", f.recoverySeconds());
                node.put("recovery_params", recoveryParams);
            }
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        mapper.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), root);
    }

    private static double rawProduce(String bootstrap, long bytes) throws Exception {
        String topic = "bench.raw-produce";
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, 4, (short) 1).configs(Map.of("max.message.bytes", "8388608")))).all().get();
        }
        Map<String, Object> config = rawProducerConfig(bootstrap);
        byte[] value = new byte[512 << 10];
        new SplittableRandom(1).nextBytes(value);
        long records = bytes / value.length;
        long start = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (long i = 0; i < records; i++) {
                producer.send(new ProducerRecord<>(topic, Long.toString(i).getBytes(), value));
            }
            producer.flush();
        }
        return records * value.length / 1048576.0 / ((System.nanoTime() - start) / 1e9);
    }

    /**
     * split=storage: publishes every step first, then starts the encoder and times it from the first step's completion to
     * the last. split=trainer: the producer codes, so the encoder runs first and the time runs from publishing step 1 to
     * the last step's completion. The broker's bytes are counted from before the first publish to after the encoder closed.
     */
    private Throughput encodeThroughput(String bootstrap, BrokerBytes brokerBytes, String split) throws Exception {
        String job = "bench-encode";
        String prefix = job + "-" + split;
        float[] model = gaussian(encodeParams, 0.05, 1);
        SplittableRandom random = new SplittableRandom(2);
        Path state = Files.createTempDirectory("lcckpt-bench-state-");
        Map<String, Object> encoderConfig = encoderConfig(bootstrap, state, prefix);
        Restorer restorer = new Restorer(Map.of("bootstrap.servers", bootstrap, "lcckpt.topic.prefix", prefix));
        BrokerBytes.Snapshot before = brokerBytes.snapshot();
        KafkaStreams encoder = null;
        List<StepComplete> markers;
        long start;
        double seconds;
        Map<String, BrokerBytes.TopicBytes> written;
        Map<String, BrokerBytes.TopicBytes> steady;
        List<String> applicationIds = List.of(encoderConfig.get("application.id").toString());
        try (CheckpointProducer producer = new CheckpointProducer(producerConfig(bootstrap, job, prefix, split))) {
            producer.registerTensor("weights", new long[] {encodeParams}, DType.FLOAT32);
            producer.publish(0, Map.of("weights", model));
            if (split.equals("trainer")) {
                encoder = EncoderApp.start(encoderConfig);
                awaitStep(restorer, job, 0);
            }
            start = System.nanoTime();
            for (int step = 1; step <= encodeSteps; step++) {
                sgdStep(model, random, step);
                producer.publish(step, Map.of("weights", model));
            }
            producer.drain();
            if (encoder == null) {
                encoder = EncoderApp.start(encoderConfig);
                // sustained rate: from the first step's completion (start-up and rebalance excluded) to the last
                awaitStep(restorer, job, 0);
                start = System.nanoTime();
            }
            markers = awaitStep(restorer, job, encodeSteps);
            seconds = (System.nanoTime() - start) / 1e9;
            written = brokerBytes.between(before, brokerBytes.snapshot(), applicationIds);
            // steady state: a few more steps with both sides running, no initial state and no superstep among them
            BrokerBytes.Snapshot steadyBefore = brokerBytes.snapshot();
            for (int step = encodeSteps + 1; step <= encodeSteps + STEADY_STEPS; step++) {
                sgdStep(model, random, step);
                producer.publish(step, Map.of("weights", model));
            }
            producer.drain();
            awaitStep(restorer, job, encodeSteps + STEADY_STEPS);
            steady = brokerBytes.between(steadyBefore, brokerBytes.snapshot(), applicationIds);
        } finally {
            if (encoder != null) {
                encoder.close(Duration.ofSeconds(60));
            }
            TempDirectories.delete(state);
        }
        CheckpointRecordBytes.SuperstepShare superstepShare = CheckpointRecordBytes.superstepShare(bootstrap, new Topics(prefix).checkpoints(job));
        double raw = 4.0 * encodeParams * encodeSteps;
        double deltaBytes = markers.stream().filter(m -> !m.getSuperstep()).mapToLong(StepComplete::getEncodedBytes).average().orElse(Double.NaN);
        return new Throughput(raw / 1048576.0 / seconds, deltaBytes, BrokerBytes.byKind(written), BrokerBytes.sources(written), encodeSteps + 1,
                superstepShare, BrokerBytes.byKind(steady));
    }

    /** A plain producer for raw bytes, as the baseline runs use it: acks=all, linger 5 ms, 1 MiB batches. */
    static Map<String, Object> rawProducerConfig(String bootstrap) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", bootstrap);
        config.put("acks", "all");
        config.put("linger.ms", 5);
        config.put("batch.size", 1 << 20);
        config.put("max.request.size", 8 << 20);
        return config;
    }

    static List<StepComplete> awaitStep(Restorer restorer, String job, long step) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(20).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                List<StepComplete> markers = restorer.completedSteps(job);
                if (markers.stream().anyMatch(m -> m.getStep() == step)) {
                    return markers;
                }
            } catch (RestoreException notYet) {
                // topic not there yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("step " + step + " of " + job + " did not complete in 20 minutes");
    }

    Map<String, Object> producerConfig(String bootstrap, String job, String prefix, String split) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", bootstrap);
        config.put("lcckpt.topic.prefix", prefix);
        config.put("lcckpt.split", split);
        config.put("lcckpt.job", job);
        config.put("lcckpt.topic.partitions", 4);
        config.put("lcckpt.buffer.memory", 256L << 20);
        return config;
    }

    Map<String, Object> encoderConfig(String bootstrap, Path state, String prefix) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", bootstrap);
        config.put("lcckpt.topic.prefix", prefix);
        config.put("application.id", "lcckpt-bench-" + state.getFileName());
        config.put("state.dir", state.toString());
        config.put("num.stream.threads", streamThreads);
        config.put("lcckpt.superstep.interval", 1000);
        config.put("lcckpt.state.store", stateStore);
        return config;
    }

    static float[] gaussian(int n, double sigma, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (random.nextGaussian() * sigma);
        }
        return values;
    }

    /** SGD-like: 20% of the weights move at 1e-3, the rest at 1e-6. */
    static void sgdStep(float[] model, SplittableRandom random, int step) {
        for (int i = 0; i < model.length; i++) {
            double scale = (i * 2654435761L + step) % 5 == 0 ? 1e-3 : 1e-6;
            model[i] += (float) (random.nextGaussian() * scale);
        }
    }
}
