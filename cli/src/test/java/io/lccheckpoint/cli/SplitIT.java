package io.lccheckpoint.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.encoder.EncoderApp;
import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.producer.SplitPlanner;
import io.lccheckpoint.producer.SplitPlanner.Split;
import io.lccheckpoint.restorer.Restorer;
import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.SuperstepChunk;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import io.lccheckpoint.schema.kafka.Topics;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongFunction;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HAPI split (issue #5) on a real KRaft broker: whichever side codes, and however often it switches, the chain is the same bytes. */
class SplitIT {
    private static final String PREFIX = "split";
    private static final int CHUNK = 16_384;
    private static final int STEPS = 24;
    /** split=auto: each job's last plan, if any. */
    private static final Map<String, java.util.Optional<SplitPlanner.Plan>> PLANS = new java.util.concurrent.ConcurrentHashMap<>();
    private static PipelineFixture kafka;

    @TempDir
    static Path stateDir;

    @BeforeAll
    static void start() throws Exception {
        kafka = PipelineFixture.start(false);
        Map<String, Object> config = new HashMap<>();
        config.put("lcckpt.topic.prefix", PREFIX);
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("application.id", PREFIX);
        config.put("state.dir", stateDir.toString());
        config.put("lcckpt.superstep.policy", "steps");
        config.put("lcckpt.superstep.interval", 5);
        config.put("lcckpt.superstep.retain", 100); // nothing tombstoned: every record of the chains stays comparable
        kafka.startEncoder(config);
    }

    @AfterAll
    static void stop() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    private static Map<String, Object> producerConfig(String job, String split) {
        return producerConfig(PREFIX, job, split);
    }

    private static Map<String, Object> producerConfig(String prefix, String job, String split) {
        Map<String, Object> config = new HashMap<>();
        config.put("lcckpt.topic.prefix", prefix);
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("lcckpt.job", job);
        config.put("lcckpt.chunk.values", CHUNK);
        config.put("lcckpt.topic.partitions", 2);
        config.put("lcckpt.split", split);
        config.put("lcckpt.split.replan.steps", 3); // split=auto: plans often enough to switch within a short run
        return config;
    }

    /** Runs the same synthetic training as a job, with the split each step asks for; returns the producer's bytes sent. */
    private static long run(String job, String split, LongFunction<Split> splitAt, boolean drainEachStep, long[] switches) throws Exception {
        return run(PREFIX, job, split, splitAt, drainEachStep, switches);
    }

    private static long run(String prefix, String job, String split, LongFunction<Split> splitAt, boolean drainEachStep, long[] switches)
            throws Exception {
        Map<String, float[]> expected = new LinkedHashMap<>();
        long bytes = publish(prefix, job, split, splitAt, drainEachStep, switches, expected);
        awaitRestore(prefix, job, expected);
        return bytes;
    }

    /** Publishes the synthetic training of {@link #STEPS} steps; {@code expected} receives what a restore of the last must give. */
    private static long publish(String prefix, String job, String split, LongFunction<Split> splitAt, boolean drainEachStep, long[] switches,
                                Map<String, float[]> expected) throws Exception {
        SyntheticTrainer trainer = new SyntheticTrainer(5, PipelineIT.model(10_000), CHUNK, CodecOptions.zeroRun(2));
        try (CheckpointProducer producer = new CheckpointProducer(producerConfig(prefix, job, split))) {
            trainer.state.forEach((name, values) -> producer.registerTensor(name, new long[] {values.length}, DType.FLOAT32));
            if (splitAt != null) {
                producer.requestSplit(splitAt.apply(0));
            }
            producer.publish(0, trainer.snapshot());
            for (long step = 1; step <= STEPS; step++) {
                trainer.step();
                if (splitAt != null) {
                    producer.requestSplit(splitAt.apply(step));
                }
                producer.publish(step, trainer.snapshot());
                if (drainEachStep) {
                    producer.drain();
                }
            }
            producer.drain();
            switches[0] = producer.splitSwitches();
            PLANS.put(job, java.util.Optional.ofNullable(producer.lastPlan()));
            expected.putAll(trainer.expectedRestore());
            return producer.bytesSent();
        }
    }

    private static void awaitRestore(String prefix, String job, Map<String, float[]> expected) {
        Restorer restorer = new Restorer(Map.of("bootstrap.servers", kafka.bootstrapServers(), "lcckpt.topic.prefix", prefix));
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() -> PipelineIT.latestStep(restorer, job) == STEPS);
        PipelineIT.assertBits(restorer.restoreLatest(job, null), expected);
    }

    /** Every encoded chunk and superstep of a job's chain, by (kind, tensor, chunk, step), as hex. */
    private static Map<String, String> chain(String job) {
        return chain(PREFIX, job);
    }

    private static Map<String, String> chain(String prefix, String job) {
        Map<String, String> chain = new TreeMap<>();
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 << 20);
        String topic = new Topics(prefix).checkpoints(job);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                consumer.poll(Duration.ofMillis(200)).forEach(record -> {
                    CheckpointKey key = (CheckpointKey) SingleObjectSerde.decode(record.key());
                    if (record.value() == null) {
                        return;
                    }
                    String id = key.getKind() + "/" + key.getTensor() + "/" + key.getChunk() + "/" + key.getStep();
                    Object value = SingleObjectSerde.decode(record.value());
                    if (value instanceof EncodedChunkRecord encoded) {
                        chain.put(id, hex(encoded.getCodec()));
                    } else if (value instanceof SuperstepChunk superstep) {
                        chain.put(id, hex(superstep.getValues()));
                    }
                });
                return partitions.stream().allMatch(p -> consumer.position(p) >= end.get(p));
            });
        }
        return chain;
    }

    private static String hex(ByteBuffer bytes) {
        byte[] array = new byte[bytes.remaining()];
        bytes.duplicate().get(array);
        return HexFormat.of().formatHex(array);
    }

    @Test
    void theChainIsTheSameBytesWhicheverSideCodesAndHoweverItSwitches() throws Exception {
        long[] switches = new long[1];
        long storageBytes = run("by-storage", "storage", null, true, switches);
        assertThat(switches[0]).isZero();
        long trainerBytes = run("by-trainer", "trainer", null, false, switches);
        assertThat(switches[0]).isZero();
        // storage → trainer at 3 (handover), → storage at 9 (residual folded), → trainer at 10, → storage at 17, → trainer at 23
        LongFunction<Split> schedule = step -> step >= 3 && step < 9 || step >= 10 && step < 17 || step >= 23 ? Split.TRAINER : Split.STORAGE;
        run("switching", "storage", schedule, false, switches);
        assertThat(switches[0]).isEqualTo(5);
        // auto: it starts with the state on both sides, plans at step 1 and re-plans; whatever it picks, the same chain
        run("by-auto", "auto", null, false, switches);
        assertThat(PLANS.get("by-auto")).isPresent();

        Map<String, String> reference = chain("by-storage");
        int chunks = 0;
        for (int size : PipelineIT.model(10_000).values()) {
            chunks += (size + CHUNK - 1) / CHUNK;
        }
        long encoded = reference.keySet().stream().filter(k -> k.startsWith(RecordKind.ENCODED_CHUNK.name())).count();
        assertThat(encoded).isEqualTo((long) chunks * STEPS);
        assertThat(reference.keySet().stream().filter(k -> k.startsWith(RecordKind.SUPERSTEP_CHUNK.name())).count()).isEqualTo(chunks * 5L);
        assertThat(chain("by-trainer")).isEqualTo(reference);
        assertThat(chain("switching")).isEqualTo(reference);
        assertThat(chain("by-auto")).isEqualTo(reference);
        // the trainer split sends coded chunks: a few percent of the raw bytes (the initial state is raw in both)
        assertThat(trainerBytes).isLessThan(storageBytes / 4);
    }

    @Test
    void underATinyMemoryBudgetChunksWaitTheirTurnAndTheChainIsTheSameBytes() throws Exception {
        // a budget whose pool holds one chunk of 16,384 values at a time (cost 64 KiB + 48 B per value = 850 KB of 900 KB),
        // with two stream threads coding two jobs at once: one of them must wait for the other's chunk. It also sizes
        // the fetches, input buffers and caches down to a record or so: other batch sizes than the main encoder's
        String prefix = "split-small";
        Map<String, Object> config = new HashMap<>();
        config.put("lcckpt.topic.prefix", prefix);
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("application.id", prefix);
        config.put("state.dir", stateDir.resolve(prefix).toString());
        config.put("num.stream.threads", 2);
        config.put("lcckpt.superstep.policy", "steps");
        config.put("lcckpt.superstep.interval", 5);
        config.put("lcckpt.superstep.retain", 100);
        config.put("lcckpt.memory.budget", 3_000_000L);
        // both jobs' steps are all on their topics before the encoder starts: its two threads (one task each) then work
        // through a backlog at the same time, as an instance serving many trainers does, rather than taking turns on
        // chunks as they trickle in
        Map<String, float[]> expectedA = new LinkedHashMap<>();
        Map<String, float[]> expectedB = new LinkedHashMap<>();
        publish(prefix, "small-a", "storage", null, false, new long[1], expectedA);
        publish(prefix, "small-b", "storage", null, false, new long[1], expectedB);
        KafkaStreams small = EncoderApp.start(config);
        try {
            awaitRestore(prefix, "small-a", expectedA);
            awaitRestore(prefix, "small-b", expectedB);
            // whether the two threads ever code at once depends on how Streams spreads the tasks over them (it may put
            // both raw-delta tasks on one thread and the completion tasks on the other), so the wait itself is shown
            // deterministically in EncoderMemoryTest; here: the pool's bound holds on a real broker and the chain is the same
            double peak = metric(small, "memory-peak-bytes");
            assertThat(peak).as("most bytes of the pool in use at once").isPositive().isLessThanOrEqualTo(0.30 * 3_000_000);
            assertThat(metric(small, "memory-overruns-total")).isZero();
        } finally {
            small.close(Duration.ofSeconds(30));
        }
        // the same training through the main encoder (Kafka's default batch sizes): the same chain
        run("small-reference", "storage", null, true, new long[1]);
        Map<String, String> reference = chain("small-reference");
        assertThat(reference).isNotEmpty();
        assertThat(chain(prefix, "small-a")).isEqualTo(reference);
        assertThat(chain(prefix, "small-b")).isEqualTo(reference);
    }

    private static double metric(KafkaStreams streams, String name) {
        return streams.metrics().values().stream().filter(m -> m.metricName().name().equals(name))
                .mapToDouble(m -> (Double) m.metricValue()).max().orElse(Double.NaN);
    }

    @Test
    void aRestoreWithPushdownReadsOneSuperstepAndItsTailAndRebuildsTheSameBits() throws Exception {
        String job = "pushdown";
        SyntheticTrainer trainer = new SyntheticTrainer(9, PipelineIT.model(10_000), CHUNK, CodecOptions.zeroRun(2));
        Map<Long, Map<String, float[]>> expected = new HashMap<>();
        Map<String, Object> producerConfig = producerConfig(job, "trainer");
        // one partition, so one encoder task writes the chain. With several, a task running behind the others writes
        // older steps after newer ones, and the seek reads those too (correct, only more bytes, up to the tasks' skew)
        producerConfig.put("lcckpt.topic.partitions", 1);
        Map<String, Object> config = new HashMap<>(Map.of("bootstrap.servers", kafka.bootstrapServers(), "lcckpt.topic.prefix", PREFIX));
        // one clock here; the default margin (1 s for clocks that disagree) would span most of this short run
        config.put("lcckpt.restore.seek.margin.ms", "0");
        Restorer pushdown = new Restorer(config);
        config.put("lcckpt.restore.pushdown", "false");
        Restorer whole = new Restorer(config);
        try (CheckpointProducer producer = new CheckpointProducer(producerConfig)) {
            trainer.state.forEach((name, values) -> producer.registerTensor(name, new long[] {values.length}, DType.FLOAT32));
            producer.publish(0, trainer.snapshot());
            for (long step = 1; step <= 43; step++) {
                trainer.step();
                if (step == 10 || step == 40) {
                    // this trainer writes its coded chunks to the checkpoint topic itself, so what the encoder writes while it
                    // catches up lands between them and the superstep, and a seek reads it too (correct, only more bytes, up
                    // to the encoder's lag): here the encoder is caught up when a superstep's step is published, as in a
                    // training run whose steps take longer than their coding
                    producer.drain();
                    long before = step - 1;
                    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() -> PipelineIT.latestStep(whole, job) == before);
                }
                producer.publish(step, trainer.snapshot());
                if (step == 12 || step == 40) {
                    expected.put(step, trainer.expectedRestore());
                }
            }
            producer.drain();
        }
        expected.put(43L, trainer.expectedRestore());
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() -> PipelineIT.latestStep(whole, job) == 43);
        var fast = pushdown.restoreLatest(job, null);
        var slow = whole.restoreLatest(job, null);
        PipelineIT.assertBits(fast, expected.get(43L));
        PipelineIT.assertBits(slow, expected.get(43L));
        assertThat(fast.superstep()).isEqualTo(40);
        assertThat(fast.deltasApplied()).isEqualTo(3L * 8);
        // 9 supersteps and 43 steps of deltas retained; pushdown reads the superstep of 40 and the 3 steps after it
        assertThat(fast.bytesRead()).isLessThan(slow.bytesRead() / 5);
        // an older step: from its own superstep (10), reading from there on
        var older = pushdown.restore(job, 12, null);
        PipelineIT.assertBits(older, expected.get(12L));
        assertThat(older.superstep()).isEqualTo(10);
        assertThat(older.bytesRead()).isLessThan(slow.bytesRead());
        // exactly a superstep's step: its manifest was written just before the superstep's records, and is read too
        var atSuperstep = pushdown.restore(job, 40, null);
        PipelineIT.assertBits(atSuperstep, expected.get(40L));
        assertThat(atSuperstep.superstep()).isEqualTo(40);
        assertThat(atSuperstep.deltasApplied()).isZero();
        assertThat(atSuperstep.bytesRead()).isLessThan(slow.bytesRead() / 5);
    }
}
