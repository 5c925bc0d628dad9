package io.lccheckpoint.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.encoder.EncoderApp;
import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.restorer.RestoreException;
import io.lccheckpoint.restorer.RestoredState;
import io.lccheckpoint.restorer.Restorer;
import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.DeadLetter;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.TensorInfo;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import io.lccheckpoint.schema.kafka.Topics;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Crashes, isolation and bad input, on a real KRaft broker with an eager log cleaner. */
class PipelineFailuresIT {
    private static final int CHUNK = 16_384;
    private static PipelineFixture kafka;

    @TempDir
    static Path stateDir;

    @BeforeAll
    static void startBroker() throws Exception {
        kafka = PipelineFixture.start(true);
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    /** Each test has its own topic prefix (= its encoder's application id): an encoder codes every job on its prefix. */
    private static Map<String, Object> encoderConfig(String applicationId, String instance) {
        Map<String, Object> config = new HashMap<>();
        config.put("lcckpt.topic.prefix", applicationId);
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("application.id", applicationId);
        config.put("state.dir", stateDir.resolve(applicationId + "-" + instance).toString());
        config.put("num.stream.threads", 1);
        config.put("lcckpt.superstep.policy", "steps");
        config.put("lcckpt.superstep.interval", 5);
        config.put("lcckpt.superstep.retain", 2);
        config.put("consumer.session.timeout.ms", 6000);
        config.put("consumer.heartbeat.interval.ms", 1000);
        return config;
    }

    private static Map<String, Object> producerConfig(String prefix, String job) {
        Map<String, Object> config = new HashMap<>();
        config.put("lcckpt.topic.prefix", prefix);
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("lcckpt.job", job);
        config.put("lcckpt.chunk.values", CHUNK);
        config.put("lcckpt.topic.partitions", 4);
        return config;
    }

    private static Map<String, Integer> model() {
        Map<String, Integer> sizes = new LinkedHashMap<>();
        sizes.put("w1", 50_000);
        sizes.put("b1", 10);
        sizes.put("w2", 30_001);
        return sizes;
    }

    private static Restorer restorer(String prefix) {
        return new Restorer(Map.of("bootstrap.servers", kafka.bootstrapServers(), "lcckpt.topic.prefix", prefix));
    }

    private static void awaitStep(Restorer restorer, String job, long step) {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() -> PipelineIT.latestStep(restorer, job) == step);
    }

    @Test
    void anEncoderInstanceDiesMidRunAndTheOtherFinishesBitIdentically() throws Exception {
        String job = "encoder-crash";
        KafkaStreams first = EncoderApp.start(encoderConfig("crash-encoder", "a"));
        KafkaStreams second = EncoderApp.start(encoderConfig("crash-encoder", "b"));
        SyntheticTrainer trainer = new SyntheticTrainer(7, model(), CHUNK, CodecOptions.zeroRun(2));
        Restorer restorer = restorer("crash-encoder");
        try (CheckpointProducer producer = new CheckpointProducer(producerConfig("crash-encoder", job))) {
            trainer.state.forEach((name, values) -> producer.registerTensor(name, new long[] {values.length}, DType.FLOAT32));
            producer.publish(0, trainer.snapshot());
            for (long step = 1; step <= 12; step++) {
                trainer.step();
                producer.publish(step, trainer.snapshot());
            }
            producer.drain();
            awaitStep(restorer, job, 12);
            // one instance dies without a clean shutdown of its tasks: no wait, no commit of what is in flight
            first.close(Duration.ZERO);
            for (long step = 13; step <= 25; step++) {
                trainer.step();
                producer.publish(step, trainer.snapshot());
            }
            producer.drain();
            awaitStep(restorer, job, 25);
        } finally {
            second.close(Duration.ofSeconds(30));
            first.close(Duration.ofSeconds(30));
        }
        PipelineIT.assertBits(restorer.restoreLatest(job, null), trainer.expectedRestore());
    }

    @Test
    void aTrainerCrashMidStepLeavesNoPartialStepAndResumeContinuesTheChain() throws Exception {
        String job = "trainer-crash";
        KafkaStreams encoder = EncoderApp.start(encoderConfig("resume-encoder", "a"));
        Restorer restorer = restorer("resume-encoder");
        SyntheticTrainer trainer = new SyntheticTrainer(11, model(), CHUNK, CodecOptions.zeroRun(2));
        try {
            try (CheckpointProducer producer = new CheckpointProducer(producerConfig("resume-encoder", job))) {
                trainer.state.forEach((name, values) -> producer.registerTensor(name, new long[] {values.length}, DType.FLOAT32));
                producer.publish(0, trainer.snapshot());
                for (long step = 1; step <= 7; step++) {
                    trainer.step();
                    producer.publish(step, trainer.snapshot());
                }
            }
            awaitStep(restorer, job, 7);
            // the trainer dies in the middle of step 8: half of its chunks sent in an open transaction, never committed
            KafkaProducer<byte[], byte[]> dying = halfAStep("resume-encoder", job, 8);
            // the restarted trainer restores the last complete step; its producer fences the dead one (aborting step 8)
            RestoredState restored = restorer.restoreLatest(job, null);
            assertThat(restored.step()).isEqualTo(7);
            Map<String, Object> state = new LinkedHashMap<>();
            restored.tensors().forEach((name, tensor) -> {
                state.put(name, tensor.floats().clone());
                System.arraycopy(tensor.floats(), 0, trainer.state.get(name), 0, tensor.floats().length);
            });
            trainer.resetReference();
            try (CheckpointProducer producer = new CheckpointProducer(producerConfig("resume-encoder", job))) {
                trainer.state.forEach((name, values) -> producer.registerTensor(name, new long[] {values.length}, DType.FLOAT32));
                producer.resume(7, state);
                for (long step = 8; step <= 9; step++) {
                    trainer.step();
                    producer.publish(step, trainer.snapshot());
                }
                producer.drain();
                awaitStep(restorer, job, 9);
                // the crashed generation's steps before the resume point stay restorable (nothing of its step 8 exists)
                RestoredState older = restorer.restore(job, 6, null);
                assertThat(older.generation()).isEqualTo(restored.generation());
                assertThat(restorer.restore(job, 8, null).generation()).isGreaterThan(restored.generation());
                for (long step = 10; step <= 14; step++) {
                    trainer.step();
                    producer.publish(step, trainer.snapshot());
                }
            }
            dying.close(Duration.ZERO);
            awaitStep(restorer, job, 14);
            RestoredState resumed = restorer.restoreLatest(job, null);
            assertThat(resumed.generation()).isGreaterThan(restored.generation());
            PipelineIT.assertBits(resumed, trainer.expectedRestore());
            // once the new generation holds its 2 retained supersteps (7 and 10), the crashed one is tombstoned:
            // asking for it is a clear error, never a wrong model
            assertThatThrownBy(() -> restorer.restore(job, 6, null)).isInstanceOf(RestoreException.class).hasMessageContaining("superstep");
        } finally {
            encoder.close(Duration.ofSeconds(30));
        }
    }

    /** Sends the manifest and half the chunks of a step in a transaction of the trainer's id, and walks away. */
    private static KafkaProducer<byte[], byte[]> halfAStep(String prefix, String job, long step) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("transactional.id", "lcckpt-trainer-" + job);
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer());
        producer.initTransactions();
        producer.beginTransaction();
        String topic = new Topics("resume-encoder").rawDeltas(job);
        producer.send(new ProducerRecord<>(topic, SingleObjectSerde.encode(new ChunkKey(job, "", -1)),
                SingleObjectSerde.encode(new StepManifest(job, 1L, step, null, List.of(new TensorInfo("w1", List.of(50_000L), DType.FLOAT32, CHUNK, 4, null)), null))));
        ByteBuffer values = ByteBuffer.allocate(4 * CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        for (int chunk = 0; chunk < 2; chunk++) {
            RawDeltaChunk raw = new RawDeltaChunk(job, 1L, step, "w1", chunk, 4, 9, DType.FLOAT32, false, values.duplicate(),
                    io.lccheckpoint.schema.RemainingStages.ALL, null, false, false, null, null, null);
            producer.send(new ProducerRecord<>(topic, SingleObjectSerde.encode(new ChunkKey(job, "w1", chunk)), SingleObjectSerde.encode(raw)));
        }
        producer.flush();
        return producer;
    }

    @Test
    void twoJobsAtOnceAndRestoringOneReadsNoRecordOfTheOther() throws Exception {
        KafkaStreams encoder = EncoderApp.start(encoderConfig("two-jobs-encoder", "a"));
        Restorer restorer = restorer("two-jobs-encoder");
        SyntheticTrainer a = new SyntheticTrainer(21, model(), CHUNK, CodecOptions.zeroRun(2));
        SyntheticTrainer b = new SyntheticTrainer(22, Map.of("other", 70_000), CHUNK, CodecOptions.zeroRun(2));
        try (CheckpointProducer producerA = new CheckpointProducer(producerConfig("two-jobs-encoder", "job-a"));
             CheckpointProducer producerB = new CheckpointProducer(producerConfig("two-jobs-encoder", "job-b"))) {
            a.state.forEach((name, values) -> producerA.registerTensor(name, new long[] {values.length}, DType.FLOAT32));
            b.state.forEach((name, values) -> producerB.registerTensor(name, new long[] {values.length}, DType.FLOAT32));
            producerA.publish(0, a.snapshot());
            producerB.publish(0, b.snapshot());
            for (long step = 1; step <= 6; step++) {
                a.step();
                b.step();
                producerA.publish(step, a.snapshot());
                producerB.publish(step, b.snapshot());
            }
        }
        try {
            awaitStep(restorer, "job-a", 6);
            awaitStep(restorer, "job-b", 6);
            RestoredState restoredA = restorer.restoreLatest("job-a", null);
            PipelineIT.assertBits(restoredA, a.expectedRestore());
            PipelineIT.assertBits(restorer.restoreLatest("job-b", null), b.expectedRestore());
            assertThat(restoredA.tensors()).doesNotContainKey("other");
            // every record a whole-topic restore reads is one of job A's topic: the counts match that topic's size exactly
            Restorer whole = new Restorer(Map.of("bootstrap.servers", kafka.bootstrapServers(), "lcckpt.topic.prefix", "two-jobs-encoder",
                    "lcckpt.restore.pushdown", "false"));
            long records = recordCount(new Topics("two-jobs-encoder").checkpoints("job-a"));
            assertThat(whole.restoreLatest("job-a", null).recordsRead()).isEqualTo(records);
            // with pushdown (the default) it reads a part of the same topic
            assertThat(restoredA.recordsRead()).isPositive().isLessThanOrEqualTo(records);
        } finally {
            encoder.close(Duration.ofSeconds(30));
        }
    }

    @Test
    void badInputGoesToTheDeadLetterTopicAndEveryCommittedStepStillRestores() throws Exception {
        String job = "bad-input";
        KafkaStreams encoder = EncoderApp.start(encoderConfig("bad-input-encoder", "a"));
        Restorer restorer = restorer("bad-input-encoder");
        SyntheticTrainer trainer = new SyntheticTrainer(31, Map.of("w", 20_000), CHUNK, CodecOptions.zeroRun(2));
        try {
            try (CheckpointProducer producer = new CheckpointProducer(producerConfig("bad-input-encoder", job))) {
                trainer.state.forEach((name, values) -> producer.registerTensor(name, new long[] {values.length}, DType.FLOAT32));
                producer.publish(0, trainer.snapshot());
                for (long step = 1; step <= 3; step++) {
                    trainer.step();
                    producer.publish(step, trainer.snapshot());
                }
                producer.drain();
                awaitStep(restorer, job, 3);
                Map<String, float[]> committed = trainer.expectedRestore();
                sendRaw("bad-input-encoder", job, new byte[] {0x13, 0x37});
                byte[] unknown = SingleObjectSerde.encode(new ChunkKey(job, "w", 0));
                unknown[4] ^= 0x7F;
                sendRaw("bad-input-encoder", job, unknown);
                // a NaN in step 4: the producer publishes it, the encoder refuses the poisoned chunk
                trainer.step();
                Map<String, Object> poisoned = trainer.snapshot();
                ((float[]) poisoned.get("w"))[5] = Float.NaN;
                producer.publish(4, poisoned).get();
                List<DeadLetter> letters = deadLetters("bad-input-encoder", job, 3);
                assertThat(letters).extracting(DeadLetter::getReason).anySatisfy(reason -> assertThat(reason).contains("undecodable"));
                assertThat(letters).extracting(DeadLetter::getReason).anySatisfy(reason -> assertThat(reason).contains("unknown schema fingerprint"));
                assertThat(letters).anySatisfy(letter -> {
                    assertThat(letter.getReason()).contains("poisoned step").contains("NaN").contains("index 5");
                    assertThat(letter.getStep()).isEqualTo(4);
                    assertThat(letter.getTensor()).isEqualTo("w");
                });
                assertThat(encoder.metrics().entrySet().stream().filter(e -> e.getKey().name().equals("dead-letters-total"))
                        .mapToDouble(e -> (Double) e.getValue().metricValue()).sum()).isGreaterThanOrEqualTo(3.0);
                // the encoder kept running, step 4 never completed, and step 3 restores exactly as committed
                RestoredState latest = restorer.restoreLatest(job, null);
                assertThat(latest.step()).isEqualTo(3);
                PipelineIT.assertBits(latest, committed);
                assertThat(encoder.state()).isEqualTo(KafkaStreams.State.RUNNING);
            }
        } finally {
            encoder.close(Duration.ofSeconds(30));
        }
    }

    @Test
    void aTrainerWhoseStepsFailReportsTheFirstCauseNotAFollowOnError() throws Exception {
        String prefix = "first-cause";
        String job = "first-cause";
        try (CheckpointProducer producer = new CheckpointProducer(producerConfig(prefix, job))) {
            producer.registerTensor("w", new long[] {20_000}, DType.FLOAT32);
            // the brokers refuse every record on the job's raw-delta topic from now on (even a notice of a record the producer
            // wrote to the checkpoint topic, such as the initial state): every step fails when it is sent
            try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
                var topic = new org.apache.kafka.common.config.ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.TOPIC, new Topics(prefix).rawDeltas(job));
                admin.incrementalAlterConfigs(Map.of(topic, List.of(new org.apache.kafka.clients.admin.AlterConfigOp(
                        new org.apache.kafka.clients.admin.ConfigEntry("max.message.bytes", "64"), org.apache.kafka.clients.admin.AlterConfigOp.OpType.SET))))
                        .all().get();
            }
            float[] values = new float[20_000];
            List<java.util.concurrent.CompletableFuture<CheckpointProducer.StepReceipt>> receipts = new ArrayList<>();
            for (long step = 0; step <= 3; step++) {
                values[0] = step;
                receipts.add(producer.publish(step, Map.of("w", values.clone())));
            }
            producer.drain();
            Throwable first = org.assertj.core.api.Assertions.catchThrowable(() -> receipts.get(0).join()).getCause();
            assertThat(first).hasMessageContaining("step 0 was not committed");
            // every later failure names the first cause, and so does the trainer's next publish
            for (int k = 1; k < receipts.size(); k++) {
                int step = k;
                assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> receipts.get(step).join()).getCause())
                        .hasMessageContaining(first.getCause().getMessage());
            }
            Throwable next = org.assertj.core.api.Assertions.catchThrowable(() -> producer.publish(4, Map.of("w", values)));
            assertThat(next).isInstanceOf(IllegalStateException.class).hasCause(first.getCause())
                    .hasMessageContaining(first.getCause().getMessage());
        }
    }

    private static void sendRaw(String prefix, String job, byte[] value) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(new Topics("bad-input-encoder").rawDeltas(job), SingleObjectSerde.encode(new ChunkKey(job, "w", 0)), value));
        }
    }

    private static List<DeadLetter> deadLetters(String prefix, String job, int atLeast) {
        List<DeadLetter> letters = new ArrayList<>();
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition partition = new TopicPartition(new Topics("bad-input-encoder").deadLetters(job), 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                consumer.poll(Duration.ofMillis(200)).forEach(record -> letters.add((DeadLetter) SingleObjectSerde.decode(record.value())));
                return letters.size() >= atLeast;
            });
        }
        return letters;
    }

    @Test
    void compactionRemovesObsoleteRecordsAndTheTopicStaysBounded() throws Exception {
        String job = "compaction";
        KafkaStreams encoder = EncoderApp.start(encoderConfig("compaction-encoder", "a"));
        Restorer restorer = restorer("compaction-encoder");
        SyntheticTrainer trainer = new SyntheticTrainer(41, Map.of("w", 2 * CHUNK), CHUNK, CodecOptions.zeroRun(2));
        String topic = new Topics("compaction-encoder").checkpoints(job);
        Map<String, Object> config = producerConfig("compaction-encoder", job);
        // small segments so the cleaner has closed segments to work on during a short test
        config.put("lcckpt.checkpoint.topic.segment.ms", "200");
        config.put("lcckpt.checkpoint.topic.min.cleanable.dirty.ratio", "0.01");
        config.put("lcckpt.checkpoint.topic.delete.retention.ms", "100");
        try (CheckpointProducer producer = new CheckpointProducer(config)) {
            trainer.state.forEach((name, values) -> producer.registerTensor(name, new long[] {values.length}, DType.FLOAT32));
            producer.publish(0, trainer.snapshot());
            long[] sizes = new long[2];
            for (long step = 1; step <= 150; step++) {
                trainer.step();
                producer.publish(step, trainer.snapshot());
                if (step == 75 || step == 150) {
                    producer.drain();
                    awaitStep(restorer, job, step);
                    sizes[step == 75 ? 0 : 1] = recordCount(topic);
                    System.out.println("compaction: " + sizes[step == 75 ? 0 : 1] + " records in " + topic + " at step " + step);
                }
            }
            // 151 steps write 151 x (2 encoded chunks + a marker + a manifest) + 31 x 2 superstep chunks = 666 records,
            // plus tombstones. The live set is small (interval 5, retain 2: 2 x (2 supersteps + 5 deltas) + 6 markers + 6
            // manifests = 26); what the cleaner has not reached yet depends on its timing (85 records at step 150 alone on
            // this machine, ~330 under the full suite's load), but it must not grow with the number of steps.
            assertThat(sizes[1]).as("records at step 150 vs at step 75").isLessThanOrEqualTo(sizes[0] * 5 / 4 + 40);
            assertThat(sizes[1]).as("records at step 150, of 666 written").isLessThan(666 * 3 / 5);
            // retained steps still restore exactly
            PipelineIT.assertBits(restorer.restoreLatest(job, null), trainer.expectedRestore());
            assertThat(restorer.restore(job, 146, null).step()).isEqualTo(146);
        } finally {
            encoder.close(Duration.ofSeconds(30));
        }
    }

    /** Records in a topic now (compaction included), read with read_committed like a restore. */
    static long recordCount(String topic) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 << 20);
        long count = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                count += consumer.poll(Duration.ofMillis(200)).count();
            }
        }
        return count;
    }
}
