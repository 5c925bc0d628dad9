package io.lccheckpoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.embedded.EmbeddedKafka;
import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.restorer.RestoreException;
import io.lccheckpoint.restorer.RestoredState;
import io.lccheckpoint.restorer.Restorer;
import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.DeadLetter;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import io.lccheckpoint.schema.kafka.Topics;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * One run of the fault suite: a job on its own topic prefix, a deterministic trainer, encoder processes, and what the run
 * left on the broker (a {@link Snapshot}) to compare with the control run's.
 */
final class FaultHarness {
    static final String JOB = "faults-job";
    static final int CHUNK = 16_384;
    static final int LAST_STEP = 80;
    static final int RECORD_BYTES = 8 * CHUNK + 4096;
    private static final Map<String, Integer> MODEL = new LinkedHashMap<>();

    static {
        MODEL.put("w1", 120_000);
        MODEL.put("w2", 50_000);
        MODEL.put("b", 10);
    }

    private final EmbeddedKafka kafka;
    private final Path work;
    private final String prefix;
    private final Topics topics;
    private final Map<String, float[]> state = new LinkedHashMap<>();
    private final TreeSet<Long> complete = new TreeSet<>();
    private KafkaConsumer<byte[], byte[]> indexConsumer;
    private CheckpointProducer producer;
    private volatile Throwable trainerFailure;
    private final Map<String, Object> trainerSettings = new java.util.HashMap<>();
    private int encoders;
    private final long lastStep;
    /** The split the trainer asks for at each step, or null for the producer's default (storage). */
    private final java.util.function.LongFunction<io.lccheckpoint.producer.SplitPlanner.Split> split;

    FaultHarness(EmbeddedKafka kafka, Path work, String prefix) {
        this(kafka, work, prefix, LAST_STEP, null);
    }

    FaultHarness(EmbeddedKafka kafka, Path work, String prefix, long lastStep, java.util.function.LongFunction<io.lccheckpoint.producer.SplitPlanner.Split> split) {
        this.lastStep = lastStep;
        this.split = split;
        this.kafka = kafka;
        this.work = work;
        this.prefix = prefix;
        this.topics = new Topics(prefix);
        SplittableRandom random = new SplittableRandom(11);
        MODEL.forEach((name, size) -> {
            float[] values = new float[size];
            for (int i = 0; i < size; i++) {
                values[i] = (float) (random.nextGaussian() * 0.05);
            }
            state.put(name, values);
        });
    }

    Topics topics() {
        return topics;
    }

    /** Kafka settings of the trainer's producer on top of the harness's (before the first {@link #train}). */
    FaultHarness trainerSettings(Map<String, Object> settings) {
        trainerSettings.putAll(settings);
        return this;
    }

    /** Publishes steps {@code from..to} (0 is the initial state) at once, and waits until each is committed; failures are kept. */
    void train(long from, long to) {
        train(from, to, 0);
    }

    /** The trainer publishes a step every {@code paceMillis} on its own thread (training goes on while faults happen). */
    Thread trainInBackground(long from, long to, long paceMillis) {
        Thread thread = new Thread(() -> train(from, to, paceMillis), prefix + "-trainer");
        thread.start();
        return thread;
    }

    /**
     * The initial state, then (once the encoder has coded it, so that it is up) steps 1.. on the trainer's own thread, one
     * every {@code paceMillis}: the faults then hit while both sides work.
     */
    Thread trainWhileTheEncoderRuns(EncoderProcess encoder, long paceMillis) {
        train(0, 0);
        awaitComplete(0, Duration.ofMinutes(2), encoder);
        return trainInBackground(1, lastStep, paceMillis);
    }

    /** The fault is about to hit mid-run: the encoder has many steps still to code. */
    void assertMidRun() {
        assertThat(latestComplete()).as("steps complete when the fault hits (it must hit mid-run)").isLessThan(lastStep - 20);
    }

    private void train(long from, long to, long paceMillis) {
        try {
            if (producer == null) {
                Map<String, Object> config = new java.util.HashMap<>(Map.of("bootstrap.servers", kafka.bootstrapServers(), "lcckpt.topic.prefix", prefix,
                        "lcckpt.job", JOB, "lcckpt.chunk.values", CHUNK, "lcckpt.topic.partitions", 4,
                        // one generation number in every run: the records' keys hold it
                        "lcckpt.generation", 1));
                config.putAll(trainerSettings);
                producer = new CheckpointProducer(config);
                state.forEach((name, values) -> producer.registerTensor(name, new long[] {values.length}, DType.FLOAT32));
            }
            List<CompletableFuture<CheckpointProducer.StepReceipt>> receipts = new ArrayList<>();
            for (long step = from; step <= to; step++) {
                if (step > 0) {
                    move(step);
                    Thread.sleep(paceMillis);
                }
                Map<String, Object> snapshot = new LinkedHashMap<>();
                state.forEach((name, values) -> snapshot.put(name, values.clone()));
                if (split != null) {
                    producer.requestSplit(split.apply(step));
                }
                receipts.add(producer.publish(step, snapshot));
            }
            for (CompletableFuture<CheckpointProducer.StepReceipt> receipt : receipts) {
                receipt.get(10, TimeUnit.MINUTES);
            }
            if (to == lastStep) {
                producer.close();
            }
        } catch (Exception e) {
            trainerFailure = e;
        }
    }

    Throwable trainerFailure() {
        return trainerFailure;
    }

    /** Step t's update depends on t alone: any run publishes the same deltas. */
    private void move(long step) {
        SplittableRandom random = new SplittableRandom(1_000_003L * step);
        int t = 0;
        for (float[] values : state.values()) {
            double scale = Math.pow(10, -3 - t++);
            for (int i = 0; i < values.length; i++) {
                double size = random.nextDouble() < 0.2 ? scale : scale * 1e-3;
                values[i] += (float) (random.nextGaussian() * size);
            }
        }
    }

    EncoderProcess startEncoder(Map<String, Object> extra) throws IOException {
        return startEncoder(extra, "768m");
    }

    /** {@code lcckpt encoder} as ./lcckpt and docker-compose.yml run it (out of memory ends the JVM), with this -Xmx. */
    EncoderProcess startEncoder(Map<String, Object> extra, String heap) throws IOException {
        int n = ++encoders;
        Path config = work.resolve(prefix + "-encoder-" + n + ".properties");
        StringBuilder text = new StringBuilder();
        Map<String, Object> settings = new TreeMap<>();
        settings.put("bootstrap.servers", kafka.bootstrapServers());
        settings.put("application.id", prefix + "-encoder");
        settings.put("lcckpt.topic.prefix", prefix);
        settings.put("state.dir", work.resolve(prefix + "-state").toString());
        settings.put("lcckpt.superstep.policy", "steps");
        settings.put("lcckpt.superstep.interval", 10);
        settings.put("lcckpt.superstep.retain", 2);
        settings.putAll(extra);
        settings.forEach((key, value) -> text.append(key).append('=').append(value).append('\n'));
        Files.writeString(config, text);
        Path log = work.resolve(prefix + "-encoder-" + n + ".log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // -Dlcckpt.faults.encoder.classpath runs another build's encoder (e.g. an older commit's lcckpt.jar) against this suite
        String classpath = System.getProperty("lcckpt.faults.encoder.classpath", "");
        Process process = new ProcessBuilder(java, "-Xmx" + heap, "-XX:+ExitOnOutOfMemoryError", "-cp",
                classpath.isBlank() ? System.getProperty("java.class.path") : classpath,
                "io.lccheckpoint.cli.Lcckpt", "encoder", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new EncoderProcess(process, log);
    }

    /** What a supervisor does after the encoder exited: a new one, every step complete, then a clean stop (SIGTERM: 143). */
    void restartAndFinish(Duration timeout) throws Exception {
        try (EncoderProcess encoder = startEncoder(Map.of())) {
            awaitComplete(lastStep, timeout, encoder);
            assertThat(encoder.stop()).isEqualTo(143);
        }
    }

    /** Waits until step {@code step} is complete (its marker is on the index topic); fails at once if the encoder exits. */
    void awaitComplete(long step, Duration timeout, EncoderProcess encoder) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!pollIndex().contains(step)) {
            if (!encoder.isAlive()) {
                throw new AssertionError(prefix + ": the encoder exited with " + encoder.exitCode() + " before step " + step + " was complete; its log ends:\n"
                        + encoder.tail());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(prefix + ": step " + step + " not complete within " + timeout + " (complete: " + complete + "); the encoder's log ends:\n"
                        + encoder.tail());
            }
        }
    }

    long lastStep() {
        return lastStep;
    }

    /** Records the broker holds on the job's raw-delta topic now (from each partition's log start to its end). */
    long retainedRawRecords() {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
            List<TopicPartition> partitions = consumer.partitionsFor(topics.rawDeltas(JOB), Duration.ofSeconds(30)).stream()
                    .map(info -> new TopicPartition(info.topic(), info.partition())).toList();
            Map<TopicPartition, Long> start = consumer.beginningOffsets(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            return partitions.stream().mapToLong(partition -> end.get(partition) - start.get(partition)).sum();
        }
    }

    /**
     * Raw-delta records the broker still holds that the encoder has already consumed and committed (from each partition's
     * log start to the encoder group's committed offset): what the trimmer answers for. Records the encoder has not
     * reached yet (a backlog while it restarts) are not counted.
     */
    long rawRecordsKeptBehindTheEncoder() {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer();
             org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            List<TopicPartition> partitions = consumer.partitionsFor(topics.rawDeltas(JOB), Duration.ofSeconds(30)).stream()
                    .map(info -> new TopicPartition(info.topic(), info.partition())).toList();
            Map<TopicPartition, Long> start = consumer.beginningOffsets(partitions);
            var committed = admin.listConsumerGroupOffsets(prefix + "-encoder").partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            long kept = 0;
            for (TopicPartition partition : partitions) {
                var offset = committed.get(partition);
                if (offset != null) {
                    kept += Math.max(0, offset.offset() - start.get(partition));
                }
            }
            return kept;
        } catch (Exception e) {
            return 0;
        }
    }

    /** Bytes the broker's log directories hold for every partition of a topic (no segment was compacted or deleted if it is young). */
    long topicBytes(String topic) throws Exception {
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            long bytes = 0;
            for (var byDirectory : admin.describeLogDirs(List.of(1)).allDescriptions().get().values()) {
                for (var directory : byDirectory.values()) {
                    for (var partition : directory.replicaInfos().entrySet()) {
                        if (partition.getKey().topic().equals(topic)) {
                            bytes += partition.getValue().size();
                        }
                    }
                }
            }
            return bytes;
        }
    }

    /** The encoder's changelog topic of the chunks' books (application id: the prefix's encoder). */
    String chunkBookChangelog() {
        return prefix + "-encoder-lcckpt-chunk-state-changelog";
    }

    /** Bytes of one full state (float32). */
    static long modelBytes() {
        return 4L * MODEL.values().stream().mapToInt(Integer::intValue).sum();
    }

    long latestComplete() {
        TreeSet<Long> steps = pollIndex();
        return steps.isEmpty() ? -1 : steps.last();
    }

    /** The steps whose markers the index topic holds (read_committed), read on from where the last call stopped. */
    private TreeSet<Long> pollIndex() {
        if (indexConsumer == null) {
            KafkaConsumer<byte[], byte[]> consumer = consumer();
            List<TopicPartition> partitions;
            try {
                partitions = consumer.partitionsFor(topics.index(JOB), Duration.ofSeconds(5)).stream()
                        .map(info -> new TopicPartition(info.topic(), info.partition())).toList();
            } catch (org.apache.kafka.common.KafkaException e) {
                partitions = List.of();
            }
            if (partitions.isEmpty()) {
                // the trainer has not created the job's topics yet
                consumer.close();
                return complete;
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            indexConsumer = consumer;
        }
        try {
            for (ConsumerRecord<byte[], byte[]> record : indexConsumer.poll(Duration.ofMillis(200))) {
                CheckpointKey key = (CheckpointKey) SingleObjectSerde.decode(record.key());
                if (record.value() != null) {
                    complete.add(key.getStep());
                }
            }
        } catch (org.apache.kafka.common.KafkaException e) {
            // the broker is being restarted: poll again
        }
        return complete;
    }

    private KafkaConsumer<byte[], byte[]> consumer() {
        return new KafkaConsumer<>(Map.of("bootstrap.servers", kafka.bootstrapServers(), "isolation.level", "read_committed",
                "enable.auto.commit", false, "max.partition.fetch.bytes", 8 << 20), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** The encoder's own dead letters, once there are at least {@code count} (bounded wait). */
    List<DeadLetter> encoderDeadLetters(int count, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<DeadLetter> letters;
        do {
            letters = readAll(topics.encoderDeadLetters()).values().stream().map(value -> (DeadLetter) SingleObjectSerde.decode(value)).toList();
        } while (letters.size() < count && System.nanoTime() < deadline);
        return letters;
    }

    /** What the run left: the live records of the checkpoint and index topics, every retained step restored, dead letters. */
    record Snapshot(Map<String, String> checkpoints, Map<String, String> index, Map<Long, String> restored, List<String> deadLetters) {
    }

    Snapshot snapshot() throws Exception {
        Map<String, String> checkpoints = live(topics.checkpoints(JOB));
        Map<String, String> index = live(topics.index(JOB));
        Map<Long, String> restored = new TreeMap<>();
        Restorer restorer = new Restorer(Map.of("bootstrap.servers", kafka.bootstrapServers(), "lcckpt.topic.prefix", prefix));
        for (StepComplete marker : restorer.completedSteps(JOB)) {
            try {
                restored.put(marker.getStep(), digest(restorer.restore(JOB, marker.getStep(), null)));
            } catch (RestoreException e) {
                restored.put(marker.getStep(), "cannot restore: " + e.getMessage());
            }
        }
        List<String> deadLetters = readAll(topics.deadLetters(JOB)).values().stream()
                .map(value -> ((DeadLetter) SingleObjectSerde.decode(value)).getReason().toString()).toList();
        return new Snapshot(checkpoints, index, restored, deadLetters);
    }

    /** Compares this run's snapshot with the control's; the message names what differs. */
    void assertSameAs(Snapshot control) throws Exception {
        Snapshot mine = snapshot();
        assertThat(mine.deadLetters()).as(prefix + ": dead letters of the job").isEmpty();
        assertSameMap("restored steps", mine.restored(), control.restored());
        assertSameMap("live checkpoint records", mine.checkpoints(), control.checkpoints());
        assertSameMap("live index records", mine.index(), control.index());
        System.out.printf("FaultsIT %s: %d live checkpoint records, %d markers, %d restored steps identical to the control run%n", prefix,
                mine.checkpoints().size(), mine.index().size(), mine.restored().size());
    }

    private <K> void assertSameMap(String what, Map<K, String> mine, Map<K, String> control) {
        List<String> differences = new ArrayList<>();
        for (K key : control.keySet()) {
            if (!mine.containsKey(key)) {
                differences.add("missing " + key);
            } else if (!mine.get(key).equals(control.get(key))) {
                differences.add("differs " + key + ": " + abbreviate(mine.get(key)) + " vs control " + abbreviate(control.get(key)));
            }
        }
        for (K key : mine.keySet()) {
            if (!control.containsKey(key)) {
                differences.add("extra " + key + ": " + abbreviate(mine.get(key)));
            }
        }
        if (!differences.isEmpty()) {
            throw new AssertionError(prefix + ": " + differences.size() + " " + what + " differ from the control run:\n  "
                    + String.join("\n  ", differences.subList(0, Math.min(20, differences.size()))));
        }
    }

    private static String abbreviate(String text) {
        return text.length() > 200 ? text.substring(0, 200) + "..." : text;
    }

    /** The latest value of every key (tombstoned keys left out), as compaction leaves them; markers without their wall-clock times. */
    private Map<String, String> live(String topic) throws Exception {
        Map<String, String> live = new TreeMap<>();
        for (Map.Entry<ByteBuffer, byte[]> entry : readAll(topic).entrySet()) {
            if (entry.getValue() == null) {
                continue;
            }
            byte[] keyBytes = new byte[entry.getKey().remaining()];
            entry.getKey().duplicate().get(keyBytes);
            CheckpointKey key = (CheckpointKey) SingleObjectSerde.decode(keyBytes);
            String name = key.getKind() + " g" + key.getGeneration() + " s" + key.getStep() + " " + key.getTensor() + "/" + key.getChunk();
            if (key.getKind() == RecordKind.STEP_COMPLETE) {
                StepComplete marker = (StepComplete) SingleObjectSerde.decode(entry.getValue());
                marker.setStartTimestamp(0L);
                marker.setBaseTimestamp(marker.getBaseTimestamp() == null ? null : 0L);
                live.put(name, marker.toString());
            } else {
                live.put(name, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(entry.getValue())));
            }
        }
        return live;
    }

    /** Key → latest value (null for a tombstone) of a whole topic, read_committed, to its end. */
    private Map<ByteBuffer, byte[]> readAll(String topic) {
        Map<ByteBuffer, byte[]> latest = new LinkedHashMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
            List<TopicPartition> partitions;
            try {
                partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream().map(info -> new TopicPartition(info.topic(), info.partition())).toList();
            } catch (UnknownTopicOrPartitionException e) {
                return latest;
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("could not read " + topic + " to its end within 2 minutes");
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    latest.put(ByteBuffer.wrap(record.key()), record.value());
                }
            }
        }
        return latest;
    }

    private static String digest(RestoredState state) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (RestoredState.Tensor tensor : state.tensors().values()) {
            sha.update(tensor.name().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            float[] values = tensor.floats();
            ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(values);
            sha.update(bytes.array());
        }
        return "generation " + state.generation() + " " + HexFormat.of().formatHex(sha.digest());
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return socket.getLocalPort();
        }
    }

    /** {@code lcckpt encoder} in a child JVM. */
    static final class EncoderProcess implements AutoCloseable {
        private final Process process;
        private final Path log;

        EncoderProcess(Process process, Path log) {
            this.process = process;
            this.log = log;
        }

        boolean isAlive() {
            return process.isAlive();
        }

        int exitCode() {
            return process.exitValue();
        }

        /** SIGKILL: no shutdown hook, no clean close, whatever is in flight is cut. */
        void kill() throws InterruptedException {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }

        /** SIGTERM, and the exit code (the encoder closes cleanly; the JVM reports 143 for a SIGTERM). */
        int stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                throw new AssertionError("the encoder did not exit within 60 s of SIGTERM; its log ends:\n" + tail());
            }
            return process.exitValue();
        }

        int awaitExit(Duration timeout) throws InterruptedException {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("the encoder did not exit within " + timeout + "; its log ends:\n" + tail());
            }
            return process.exitValue();
        }

        /** True once the step is complete, false if the encoder exited first. */
        boolean awaitStepOrExit(FaultHarness run, long step, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!run.pollIndex().contains(step)) {
                if (!process.isAlive()) {
                    return false;
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(run.prefix + ": step " + step + " not complete within " + timeout + " and the encoder still runs"
                            + " (a zombie?); its log ends:\n" + tail());
                }
            }
            return true;
        }

        String log() {
            return FaultsIT.read(log);
        }

        String tail() {
            List<String> lines = log().lines().toList();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        }

        @Override
        public void close() {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }
}
