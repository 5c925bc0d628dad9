package io.lccheckpoint.cli;

import io.lccheckpoint.encoder.EncoderApp;
import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.restorer.RestoreException;
import io.lccheckpoint.restorer.RestoredState;
import io.lccheckpoint.restorer.Restorer;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.StepComplete;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The pipeline benchmark of issue #3, every ratio from one run on one broker (a real KRaft broker in a child JVM on
 * loopback): Kafka's own producer throughput for the raw bytes, the raw-delta throughput the encoder sustains, the
 * checkpoint bytes per step, and restoring a large state with supersteps against reading the same bytes raw.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Measures the pipeline on a local broker: encoder throughput vs Kafka's"
        + " own produce throughput, checkpoint bytes per step, restore time vs a raw read of the same bytes.")
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--encode-params", defaultValue = "10000000", description = "Model size for the throughput run (default ${DEFAULT-VALUE}).")
    int encodeParams;

    @Option(names = "--encode-steps", defaultValue = "20", description = "Steps for the throughput run (default ${DEFAULT-VALUE}).")
    int encodeSteps;

    @Option(names = "--restore-params", defaultValue = "100000000", description = "Model size for the restore run (default ${DEFAULT-VALUE}).")
    int restoreParams;

    @Option(names = "--restore-steps", defaultValue = "5", description = "Delta steps after the superstep in the restore run (default ${DEFAULT-VALUE}).")
    int restoreSteps;

    @Option(names = "--stream-threads", defaultValue = "2", description = "Encoder stream threads (default ${DEFAULT-VALUE}).")
    int streamThreads;

    @Option(names = "--state-store", defaultValue = "rocksdb", description = "Encoder state store: rocksdb or memory (default ${DEFAULT-VALUE}).")
    String stateStore;

    @Override
    public Integer call() throws Exception {
        say("machine: %d cores, max heap %d MiB", Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20);
        try (EmbeddedKafka kafka = EmbeddedKafka.start(Duration.ofSeconds(90))) {
            String bootstrap = kafka.bootstrapServers();
            long rawBytes = 4L * encodeParams * encodeSteps;
            double produceMiBs = rawProduce(bootstrap, rawBytes);
            say("kafka producer, %d MiB in 512 KiB records (acks=all, linger 5 ms, 1 MiB batches): %.1f MiB/s", rawBytes >> 20, produceMiBs);

            double[] encode = encodeThroughput(bootstrap);
            say("encoder (%d stream threads, %s state store), %d steps of %,d parameters: %.1f MiB/s of raw deltas sustained = %.0f%% of the producer's %.1f MiB/s",
                    streamThreads, stateStore, encodeSteps, encodeParams, encode[0], 100 * encode[0] / produceMiBs, produceMiBs);
            say("checkpoint bytes per step (between supersteps): %,.0f vs %,d full = %.1fx smaller; state changelog %,.0f bytes per step",
                    encode[1], 4L * encodeParams, 4.0 * encodeParams / encode[1], encode[2]);

            double[] restore = restoreVersusRawRead(bootstrap);
            say("restore of %,d parameters (%d MiB) from a superstep + %d deltas: %.2f s; raw read of the same bytes from Kafka: %.2f s; ratio %.2fx",
                    restoreParams, (4L * restoreParams) >> 20, restoreSteps, restore[0], restore[1], restore[0] / restore[1]);
            long modelMiB = (4L * restoreParams) >> 20;
            for (double factor : new double[] {1.5, 1.0}) {
                long heap = (long) Math.ceil(factor * modelMiB) + 64;
                String outcome = restoreInChildJvm(bootstrap, heap);
                say("lcckpt restore --latest in a child JVM at -Xmx%dm (%.1fx the model's %d MiB + 64 MiB): %s", heap, factor, modelMiB, outcome);
            }
            say("");
            say("targets (issue #3): encoder >= 50%% of raw produce: %s; restore <= 3x raw read: %s",
                    encode[0] >= 0.5 * produceMiBs ? "met" : String.format(Locale.ROOT, "MISSED (%.0f%%)", 100 * encode[0] / produceMiBs),
                    restore[0] <= 3 * restore[1] ? "met" : String.format(Locale.ROOT, "MISSED (%.2fx)", restore[0] / restore[1]));
        }
        return 0;
    }

    private static double rawProduce(String bootstrap, long bytes) throws Exception {
        String topic = "bench.raw-produce";
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, 4, (short) 1).configs(Map.of("max.message.bytes", "8388608")))).all().get();
        }
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", bootstrap);
        config.put("acks", "all");
        config.put("linger.ms", 5);
        config.put("batch.size", 1 << 20);
        config.put("max.request.size", 8 << 20);
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

    /** Publishes every step first, then starts the encoder and times it until the last step is complete. */
    private double[] encodeThroughput(String bootstrap) throws Exception {
        String job = "bench-encode";
        float[] model = gaussian(encodeParams, 0.05, 1);
        SplittableRandom random = new SplittableRandom(2);
        try (CheckpointProducer producer = new CheckpointProducer(producerConfig(bootstrap, job))) {
            producer.registerTensor("weights", new long[] {encodeParams}, DType.FLOAT32);
            producer.publish(0, Map.of("weights", model));
            for (int step = 1; step <= encodeSteps; step++) {
                sgdStep(model, random, step);
                producer.publish(step, Map.of("weights", model));
            }
        }
        Path state = Files.createTempDirectory("lcckpt-bench-state-");
        KafkaStreams encoder = EncoderApp.start(encoderConfig(bootstrap, state));
        Restorer restorer = new Restorer(Map.of("bootstrap.servers", bootstrap));
        List<StepComplete> markers;
        long start;
        try {
            // sustained rate: from the first step's completion (start-up and rebalance excluded) to the last
            awaitStep(restorer, job, 0);
            start = System.nanoTime();
            markers = awaitStep(restorer, job, encodeSteps);
        } finally {
            encoder.close(Duration.ofSeconds(60));
            TempDirectories.delete(state);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double raw = 4.0 * encodeParams * encodeSteps;
        double deltaBytes = markers.stream().filter(m -> !m.getSuperstep()).mapToLong(StepComplete::getEncodedBytes).average().orElse(Double.NaN);
        double changelog = markers.stream().filter(m -> !m.getSuperstep()).mapToLong(StepComplete::getStateBytes).average().orElse(Double.NaN);
        return new double[] {raw / 1048576.0 / seconds, deltaBytes, changelog};
    }

    /** Restores a large state from its superstep and a few deltas, and reads the same number of bytes raw. */
    private double[] restoreVersusRawRead(String bootstrap) throws Exception {
        String job = "bench-restore";
        float[] model = gaussian(restoreParams, 0.05, 3);
        SplittableRandom random = new SplittableRandom(4);
        Path state = Files.createTempDirectory("lcckpt-bench-restore-state-");
        KafkaStreams encoder = EncoderApp.start(encoderConfig(bootstrap, state));
        Restorer restorer = new Restorer(Map.of("bootstrap.servers", bootstrap));
        try (CheckpointProducer producer = new CheckpointProducer(producerConfig(bootstrap, job))) {
            producer.registerTensor("weights", new long[] {restoreParams}, DType.FLOAT32);
            producer.publish(0, Map.of("weights", model));
            for (int step = 1; step <= restoreSteps; step++) {
                sgdStep(model, random, step);
                producer.publish(step, Map.of("weights", model));
            }
        }
        try {
            awaitStep(restorer, job, restoreSteps);
        } finally {
            encoder.close(Duration.ofSeconds(60));
            TempDirectories.delete(state);
        }
        model = null;
        System.gc();
        long start = System.nanoTime();
        RestoredState restored = restorer.restoreLatest(job, null);
        double restoreSeconds = (System.nanoTime() - start) / 1e9;
        if (restored.step() != restoreSteps) {
            throw new IllegalStateException("restored step " + restored.step() + ", expected " + restoreSteps);
        }
        restored = null;
        System.gc();
        // the raw read: step 0 of the raw-delta topic holds exactly the model's bytes
        long target = 4L * restoreParams;
        start = System.nanoTime();
        long read = 0;
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", bootstrap);
        config.put("isolation.level", "read_committed");
        config.put("max.partition.fetch.bytes", 16 << 20);
        config.put("fetch.max.bytes", 64 << 20);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            String topic = "lcckpt." + job + ".raw-deltas";
            List<TopicPartition> partitions = new ArrayList<>();
            consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (read < target) {
                for (var record : consumer.poll(Duration.ofMillis(200))) {
                    read += record.serializedValueSize();
                }
            }
        }
        double rawSeconds = (System.nanoTime() - start) / 1e9;
        return new double[] {restoreSeconds, rawSeconds};
    }

    /**
     * The restore heap (issue #11: at most 1.5x the model + 64 MiB): {@code lcckpt restore} of the restore run's job in a
     * child JVM with this -Xmx and the GC ./lcckpt gives it (ParallelGC: G1 puts each superstep record of half a region
     * or more in whole regions of its own, which doubled the heap a restore needs), writing safetensors as a user would;
     * "ok in N s" or why not.
     */
    private static String restoreInChildJvm(String bootstrap, long heapMiB) throws Exception {
        Path out = Files.createTempDirectory("lcckpt-bench-restore-heap-");
        Path log = out.resolve("restore.log");
        try {
            String javaCommand = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            long start = System.nanoTime();
            Process process = new ProcessBuilder(javaCommand, "-Xmx" + heapMiB + "m", "-XX:+UseParallelGC", "-cp", System.getProperty("java.class.path"), Lcckpt.class.getName(),
                    "restore", "--job", "bench-restore", "--latest", "--out", out.resolve("model.safetensors").toString(), "-b", bootstrap)
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!process.waitFor(10, java.util.concurrent.TimeUnit.MINUTES)) {
                process.destroyForcibly();
                return "no answer in 10 minutes";
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            List<String> lines = Files.readAllLines(log);
            String why = lines.stream().filter(line -> line.startsWith("lcckpt restore:") || line.contains("Exception") || line.contains("Error"))
                    .findFirst().orElse(lines.isEmpty() ? "" : lines.get(lines.size() - 1));
            return process.exitValue() == 0 ? String.format(Locale.ROOT, "ok in %.1f s", seconds)
                    : "FAILED (exit " + process.exitValue() + ": " + why.strip() + ")";
        } finally {
            TempDirectories.delete(out);
        }
    }

    private static List<StepComplete> awaitStep(Restorer restorer, String job, long step) throws InterruptedException {
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

    private Map<String, Object> producerConfig(String bootstrap, String job) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", bootstrap);
        config.put("lcckpt.job", job);
        config.put("lcckpt.topic.partitions", 4);
        config.put("lcckpt.buffer.memory", 256L << 20);
        return config;
    }

    private Map<String, Object> encoderConfig(String bootstrap, Path state) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", bootstrap);
        config.put("application.id", "lcckpt-bench-" + state.getFileName());
        config.put("state.dir", state.toString());
        config.put("num.stream.threads", streamThreads);
        config.put("lcckpt.superstep.interval", 1000);
        config.put("lcckpt.state.store", stateStore);
        return config;
    }

    private static float[] gaussian(int n, double sigma, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (random.nextGaussian() * sigma);
        }
        return values;
    }

    /** SGD-like: 20% of the weights move at 1e-3, the rest at 1e-6. */
    private static void sgdStep(float[] model, SplittableRandom random, int step) {
        for (int i = 0; i < model.length; i++) {
            double scale = (i * 2654435761L + step) % 5 == 0 ? 1e-3 : 1e-6;
            model[i] += (float) (random.nextGaussian() * scale);
        }
    }

    private static void say(String format, Object... arguments) {
        System.out.println(String.format(Locale.ROOT, format, arguments));
    }
}
