package io.lccheckpoint.experiments;


import io.lccheckpoint.embedded.TempDirectories;
import io.lccheckpoint.encoder.EncoderApp;
import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.restorer.RestoredState;
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
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The pipeline benchmark's restore and recovery runs (issue #3, #11): a large state restored from its superstep and a
 * few deltas against reading its bytes raw, the restore's heap in a child JVM as {@code lcckpt restore}, and the seconds
 * from SIGKILLing an encoder process to the next step complete.
 */
final class RestoreRuns {
    private final PipelineBenchmark bench;
    private final int restoreParams;
    private final int restoreSteps;
    private final int recoveryParams;
    private final int streamThreads;
    private final String stateStore;
    private final String lcckptMainClass;

    RestoreRuns(PipelineBenchmark bench, PipelineBenchmark.Options options) {
        this.bench = bench;
        this.restoreParams = options.restoreParams();
        this.restoreSteps = options.restoreSteps();
        this.recoveryParams = options.recoveryParams();
        this.streamThreads = options.streamThreads();
        this.stateStore = options.stateStore();
        this.lcckptMainClass = options.lcckptMainClass();
    }

    /** Restores a large state from its superstep and a few deltas, and reads the same number of bytes raw. */
    double[] restoreVersusRawRead(String bootstrap, String split) throws Exception {
        String job = "bench-restore";
        String prefix = job + "-" + split;
        float[] model = PipelineBenchmark.gaussian(restoreParams, 0.05, 3);
        if (split.equals("trainer")) {
            // the trainer sends coded chunks only: the raw read gets a raw copy of the initial state to read
            produceRaw(bootstrap, rawCopyTopic(prefix), model);
        }
        SplittableRandom random = new SplittableRandom(4);
        Path state = Files.createTempDirectory("lcckpt-bench-restore-state-");
        KafkaStreams encoder = EncoderApp.start(bench.encoderConfig(bootstrap, state, prefix));
        Restorer restorer = new Restorer(Map.of("bootstrap.servers", bootstrap, "lcckpt.topic.prefix", prefix));
        try (CheckpointProducer producer = new CheckpointProducer(bench.producerConfig(bootstrap, job, prefix, split))) {
            producer.registerTensor("weights", new long[] {restoreParams}, DType.FLOAT32);
            producer.publish(0, Map.of("weights", model));
            for (int step = 1; step <= restoreSteps; step++) {
                PipelineBenchmark.sgdStep(model, random, step);
                producer.publish(step, Map.of("weights", model));
            }
        }
        try {
            PipelineBenchmark.awaitStep(restorer, job, restoreSteps);
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
        // the raw read: step 0 of the raw-delta topic holds exactly the model's bytes (split=storage), or the raw copy
        long target = 4L * restoreParams;
        long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
        start = System.nanoTime();
        long read = 0;
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", bootstrap);
        config.put("isolation.level", "read_committed");
        config.put("max.partition.fetch.bytes", 16 << 20);
        config.put("fetch.max.bytes", 64 << 20);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            String topic = split.equals("trainer") ? rawCopyTopic(prefix) : new Topics(prefix).rawDeltas(job);
            List<TopicPartition> partitions = new ArrayList<>();
            consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (read < target) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(topic + ": " + read + " of " + target + " bytes read in 10 minutes");
                }
                for (var record : consumer.poll(Duration.ofMillis(200))) {
                    read += record.serializedValueSize();
                }
            }
        }
        double rawSeconds = (System.nanoTime() - start) / 1e9;
        return new double[] {restoreSeconds, rawSeconds};
    }

    static final long RECOVERY_STEP_MILLIS = 250;

    /**
     * {@code lcckpt encoder} in a child JVM (as ./lcckpt and docker-compose.yml run it) while a trainer publishes a step
     * every {@link #RECOVERY_STEP_MILLIS} ms; once a few steps are complete the encoder is SIGKILLed and a new one started at
     * once, as a supervisor would: the seconds from the kill to the next step complete (FaultsIT's measure).
     */
    double recoverySeconds(String bootstrap, String split) throws Exception {
        String job = "bench-recovery";
        String prefix = job + "-" + split;
        Path work = Files.createTempDirectory("lcckpt-bench-recovery-");
        Restorer restorer = new Restorer(Map.of("bootstrap.servers", bootstrap, "lcckpt.topic.prefix", prefix));
        java.util.concurrent.atomic.AtomicBoolean training = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.atomic.AtomicReference<Exception> trainerFailure = new java.util.concurrent.atomic.AtomicReference<>();
        Thread trainer = new Thread(() -> {
            float[] model = PipelineBenchmark.gaussian(recoveryParams, 0.05, 5);
            SplittableRandom random = new SplittableRandom(6);
            try (CheckpointProducer producer = new CheckpointProducer(bench.producerConfig(bootstrap, job, prefix, split))) {
                producer.registerTensor("weights", new long[] {recoveryParams}, DType.FLOAT32);
                producer.publish(0, Map.of("weights", model));
                for (int step = 1; training.get(); step++) {
                    Thread.sleep(RECOVERY_STEP_MILLIS);
                    PipelineBenchmark.sgdStep(model, random, step);
                    producer.publish(step, Map.of("weights", model));
                }
            } catch (Exception e) {
                trainerFailure.set(e);
            }
        }, "lcckpt-bench-recovery-trainer");
        Process encoder = startEncoderProcess(bootstrap, prefix, work, 1);
        trainer.start();
        try {
            PipelineBenchmark.awaitStep(restorer, job, 5);
            encoder.destroyForcibly().waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
            long killed = System.nanoTime();
            encoder = startEncoderProcess(bootstrap, prefix, work, 2);
            // read after the kill (the killed encoder may have completed a step after any earlier read), while the new JVM starts
            long before = restorer.completedSteps(job).stream().mapToLong(StepComplete::getStep).max().orElseThrow();
            PipelineBenchmark.awaitStep(restorer, job, before + 1);
            double seconds = (System.nanoTime() - killed) / 1e9;
            if (trainerFailure.get() != null) {
                throw new IllegalStateException("the recovery run's trainer failed", trainerFailure.get());
            }
            return seconds;
        } finally {
            training.set(false);
            trainer.join(60_000);
            encoder.destroy();
            if (!encoder.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
                encoder.destroyForcibly();
            }
            TempDirectories.delete(work);
        }
    }

    private Process startEncoderProcess(String bootstrap, String prefix, Path work, int n) throws java.io.IOException {
        Path config = work.resolve("encoder.properties");
        Files.writeString(config, String.join("\n", "bootstrap.servers=" + bootstrap, "application.id=" + prefix + "-encoder",
                "lcckpt.topic.prefix=" + prefix, "state.dir=" + work.resolve("state"), "num.stream.threads=" + streamThreads,
                "lcckpt.state.store=" + stateStore, "lcckpt.superstep.interval=1000", ""));
        String javaCommand = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(javaCommand, "-Xmx768m", "-XX:+ExitOnOutOfMemoryError", "-cp", System.getProperty("java.class.path"),
                lcckptMainClass, "encoder", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(work.resolve("encoder-" + n + ".log").toFile()).start();
    }

    private static String rawCopyTopic(String prefix) {
        return prefix + ".raw-copy";
    }

    /** The values as little-endian float32 bytes in records of 512 KiB, as the storage split's raw step 0 holds them. */
    private static void produceRaw(String bootstrap, String topic, float[] values) throws Exception {
        // created here: the broker creates no topic on first use (auto.create.topics.enable=false, as in production)
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1).configs(Map.of("max.message.bytes", "8388608")))).all().get();
        }
        Map<String, Object> config = PipelineBenchmark.rawProducerConfig(bootstrap);
        int perRecord = 128 << 10;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int from = 0; from < values.length; from += perRecord) {
                int count = Math.min(perRecord, values.length - from);
                java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(4 * count).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                buffer.asFloatBuffer().put(values, from, count);
                producer.send(new ProducerRecord<>(topic, Integer.toString(from).getBytes(), buffer.array()));
            }
            producer.flush();
        }
    }

    /**
     * The restore heap (issue #11: at most 1.5x the model + 64 MiB): {@code lcckpt restore} of the restore run's job in a
     * child JVM with this -Xmx and the GC ./lcckpt gives it (ParallelGC: G1 puts each superstep record of half a region
     * or more in whole regions of its own, which doubled the heap a restore needs), writing safetensors as a user would;
     * "ok in N s" or why not.
     */
    String restoreInChildJvm(String bootstrap, String split, long heapMiB) throws Exception {
        Path out = Files.createTempDirectory("lcckpt-bench-restore-heap-");
        Path log = out.resolve("restore.log");
        try {
            String javaCommand = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            long start = System.nanoTime();
            Process process = new ProcessBuilder(javaCommand, "-Xmx" + heapMiB + "m", "-XX:+UseParallelGC", "-cp", System.getProperty("java.class.path"), lcckptMainClass,
                    "restore", "--job", "bench-restore", "--latest", "--out", out.resolve("model.safetensors").toString(), "-b", bootstrap,
                    "-Dlcckpt.topic.prefix=bench-restore-" + split)
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
}
