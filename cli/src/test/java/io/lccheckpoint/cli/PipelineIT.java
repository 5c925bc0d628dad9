package io.lccheckpoint.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.EntropyMode;
import io.lccheckpoint.codec.SixteenBitFloats;
import io.lccheckpoint.codec.ValueType;
import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.restorer.RestoreException;
import io.lccheckpoint.restorer.RestoredState;
import io.lccheckpoint.restorer.Restorer;
import io.lccheckpoint.schema.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pipeline end to end on a real KRaft broker: trainer → raw-delta topic → exactly-once encoder → checkpoints → restore. */
class PipelineIT {
    private static final int CHUNK = 65_536;
    private static final int INTERVAL = 10;
    private static final int RETAIN = 3;

    private static PipelineFixture kafka;

    @TempDir
    static Path stateDir;

    @BeforeAll
    static void startBrokerAndEncoder() throws Exception {
        kafka = PipelineFixture.start(false);
        kafka.startEncoder(encoderConfig("pipeline-it-encoder", stateDir.resolve("encoder")));
    }

    @AfterAll
    static void stop() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    static Map<String, Object> encoderConfig(String applicationId, Path state) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("application.id", applicationId);
        config.put("state.dir", state.toString());
        config.put("num.stream.threads", 1);
        config.put("lcckpt.superstep.policy", "steps");
        config.put("lcckpt.superstep.interval", INTERVAL);
        config.put("lcckpt.superstep.retain", RETAIN);
        return config;
    }

    static Map<String, Object> producerConfig(String job) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("lcckpt.job", job);
        config.put("lcckpt.chunk.values", CHUNK);
        config.put("lcckpt.topic.partitions", 2);
        return config;
    }

    static Restorer restorer() {
        return new Restorer(Map.of("bootstrap.servers", kafka.bootstrapServers()));
    }

    static Map<String, Integer> model(int scale) {
        Map<String, Integer> sizes = new LinkedHashMap<>();
        sizes.put("layer1.weight", 6 * scale);
        sizes.put("layer1.bias", scale / 100 + 3);
        sizes.put("layer2.weight", 4 * scale + 17);
        return sizes;
    }

    @Test
    void restoresTheLatestAndEarlierRetainedStepsBitForBitAsTheCodecAlone() throws Exception {
        // the scale: >= 1M parameters over several tensors, >= 200 steps
        String job = "pipeline-bits";
        int steps = 200;
        SyntheticTrainer trainer = new SyntheticTrainer(1, model(100_000), CHUNK, CodecOptions.zeroRun(2));
        assertThat(trainer.state.values().stream().mapToLong(v -> v.length).sum()).isGreaterThanOrEqualTo(1_000_000);
        Map<Long, Map<String, float[]>> expected = new HashMap<>();
        try (CheckpointProducer producer = new CheckpointProducer(producerConfig(job))) {
            trainer.state.forEach((name, values) -> producer.registerTensor(name, new long[] {values.length}, DType.FLOAT32));
            producer.publish(0, trainer.snapshot());
            for (long step = 1; step <= steps; step++) {
                trainer.step();
                producer.publish(step, trainer.snapshot());
                expected.put(step, trainer.expectedRestore());
            }
            producer.drain();
            assertThat(producer.bytesSent()).isEqualTo((steps + 1) * 4L * trainer.state.values().stream().mapToLong(v -> v.length).sum());
        }
        Restorer restorer = restorer();
        await().atMost(Duration.ofSeconds(300)).pollInterval(Duration.ofSeconds(2))
                .until(() -> latestStep(restorer, job) == steps);

        RestoredState latest = restorer.restoreLatest(job, null);
        assertBits(latest, expected.get((long) steps));
        // earlier steps still retained: the 3 newest supersteps are 180, 190, 200, so anything from 180 on restores
        for (long step : new long[] {199, 193, 190, 181}) {
            RestoredState earlier = restorer.restore(job, step, null);
            assertThat(earlier.step()).isEqualTo(step);
            assertBits(earlier, expected.get(step));
        }
        assertThat(restorer.restore(job, 190, null).deltasApplied()).isZero();
        // older steps were tombstoned by superstep retention: a clear error, not a wrong model
        assertThatThrownBy(() -> restorer.restore(job, 150, null))
                .isInstanceOf(RestoreException.class).hasMessageContaining("step 150");
    }

    static long latestStep(Restorer restorer, String job) {
        try {
            return restorer.restoreLatest(job, null).step();
        } catch (RestoreException e) {
            return -1;
        }
    }

    static void assertBits(RestoredState state, Map<String, float[]> expected) {
        assertThat(state.tensors().keySet()).containsExactlyElementsOf(expected.keySet());
        expected.forEach((name, values) -> {
            float[] restored = state.tensors().get(name).floats();
            assertThat(restored.length).isEqualTo(values.length);
            for (int i = 0; i < values.length; i++) {
                if (Float.floatToRawIntBits(restored[i]) != Float.floatToRawIntBits(values[i])) {
                    throw new AssertionError("step " + state.step() + ", tensor " + name + "[" + i + "]: restored " + restored[i] + " expected " + values[i]);
                }
            }
        });
    }

    /**
     * Every dtype of a real state_dict in one job (issue #14), in both splits, through a superstep: bfloat16, float16 and
     * float32 weights restore bit for bit as the codec's own chain (ũ kept in each tensor's type, FORMAT.md §1), the
     * float32 one with options of its own (lcckpt.codec.tensor.options: 4 bits where the job codes 2), and an int64
     * counter (num_batches_tracked), an unchanged int32 buffer and a bool mask restore exactly as the trainer had them.
     * safetensors gets each dtype's tag and width, the summary each tensor's coding.
     */
    @Test
    void restoresEveryDtypeBitForBitWithPerTensorOptionsInBothSplits(@TempDir Path out) throws Exception {
        Map<String, DType> dtypes = new LinkedHashMap<>();
        dtypes.put("w.bf16", DType.BFLOAT16);
        dtypes.put("w.fp16", DType.FLOAT16);
        dtypes.put("w.f32", DType.FLOAT32);
        Map<String, Integer> sizes = Map.of("w.bf16", CHUNK + 4_464, "w.fp16", 30_000, "w.f32", 20_000);
        Map<String, DType> exact = new LinkedHashMap<>();
        exact.put("bn.num_batches_tracked", DType.INT64);
        exact.put("buf.frozen", DType.INT32);
        exact.put("buf.mask", DType.BOOL);
        Map<String, Integer> exactSizes = Map.of("bn.num_batches_tracked", 1, "buf.frozen", 3_000, "buf.mask", CHUNK + 1_000);
        CodecOptions own = new CodecOptions(4, EntropyMode.ZERO_RUN);
        int steps = 12; // a superstep at step 10 (INTERVAL)
        for (String split : new String[] {"storage", "trainer"}) {
            String job = "dtypes-" + split;
            java.util.SplittableRandom random = new java.util.SplittableRandom(split.length());
            Map<String, float[]> state = new LinkedHashMap<>();
            Map<String, long[]> integers = new LinkedHashMap<>();
            Map<String, List<ChunkState>> chain = new LinkedHashMap<>();
            ChunkEncoder jobEncoder = new ChunkEncoder(new CodecOptions(2, EntropyMode.ZERO_RUN));
            ChunkEncoder ownEncoder = new ChunkEncoder(own);
            dtypes.forEach((name, dtype) -> {
                ValueType type = ValueType.valueOf(dtype.name());
                float[] values = new float[sizes.get(name)];
                for (int i = 0; i < values.length; i++) {
                    values[i] = roundTo(type, (float) (random.nextGaussian() * 0.05));
                }
                state.put(name, values);
                List<ChunkState> chunks = new ArrayList<>();
                for (int from = 0; from < values.length; from += CHUNK) {
                    float[] initial = Arrays.copyOfRange(values, from, Math.min(values.length, from + CHUNK));
                    chunks.add(ChunkState.ofFloats(type, initial, new float[initial.length]));
                }
                chain.put(name, chunks);
            });
            exact.forEach((name, dtype) -> {
                long[] values = new long[exactSizes.get(name)];
                for (int i = 0; i < values.length; i++) {
                    values[i] = dtype == DType.BOOL ? random.nextInt(2) : random.nextInt(-1000, 1000);
                }
                integers.put(name, values);
            });
            Map<String, Object> config = producerConfig(job);
            config.put("lcckpt.split", split);
            config.put("lcckpt.codec.tensor.options", "buf.*=bits=8;w.f3?=bits=4;bn.running_*=exact");
            float[] runningVar = new float[300];
            Arrays.fill(runningVar, 1f);
            try (CheckpointProducer producer = new CheckpointProducer(config)) {
                dtypes.forEach((name, dtype) -> producer.registerTensor(name, new long[] {sizes.get(name)}, dtype));
                exact.forEach((name, dtype) -> producer.registerTensor(name, new long[] {exactSizes.get(name)}, dtype));
                producer.registerTensor("bn.running_var", new long[] {runningVar.length}, DType.FLOAT32);
                producer.publish(0, with(published(state, dtypes, integers), "bn.running_var", runningVar.clone()));
                for (long step = 1; step <= steps; step++) {
                    for (Map.Entry<String, float[]> entry : state.entrySet()) {
                        ValueType type = ValueType.valueOf(dtypes.get(entry.getKey()).name());
                        float[] values = entry.getValue();
                        float[] before = values.clone();
                        for (int i = 0; i < values.length; i++) {
                            // a trainer of that type: the update, then the weight rounded to the type
                            values[i] = roundTo(type, values[i] + (float) (random.nextGaussian() * ((i % 5 == 0) ? 1e-2 : 1e-4)));
                        }
                        List<ChunkState> chunks = chain.get(entry.getKey());
                        ChunkEncoder reference = entry.getKey().equals("w.f32") ? ownEncoder : jobEncoder;
                        for (int c = 0; c < chunks.size(); c++) {
                            int from = c * CHUNK;
                            float[] delta = new float[chunks.get(c).size()];
                            for (int i = 0; i < delta.length; i++) {
                                delta[i] = values[from + i] - before[from + i];
                            }
                            reference.encode(delta, chunks.get(c));
                        }
                    }
                    integers.get("bn.num_batches_tracked")[0]++;
                    long[] mask = integers.get("buf.mask");
                    for (int i = 0; i < mask.length; i += 1 + random.nextInt(50)) {
                        mask[i] = 1 - mask[i];
                    }
                    for (int i = (int) step % 3; i < runningVar.length; i += 3) {
                        runningVar[i] = 0.9f * runningVar[i] + 0.1f * (float) random.nextDouble();
                    }
                    producer.publish(step, with(published(state, dtypes, integers), "bn.running_var", runningVar.clone()));
                }
            }
            Restorer restorer = restorer();
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() -> latestStep(restorer, job) == steps);
            RestoredState restored = restorer.restoreLatest(job, null);
            Map<String, float[]> expected = new LinkedHashMap<>();
            chain.forEach((name, chunks) -> {
                float[] values = new float[sizes.get(name)];
                for (int c = 0; c < chunks.size(); c++) {
                    System.arraycopy(chunks.get(c).approxFloat(), 0, values, c * CHUNK, chunks.get(c).size());
                }
                expected.put(name, values);
            });
            assertThat(restored.tensors().keySet()).containsExactly("w.bf16", "w.fp16", "w.f32", "bn.num_batches_tracked", "buf.frozen", "buf.mask",
                    "bn.running_var");
            // a float tensor coded exactly: the very values, bit for bit
            float[] restoredVar = restored.tensors().get("bn.running_var").floats();
            for (int i = 0; i < runningVar.length; i++) {
                assertThat(Float.floatToRawIntBits(restoredVar[i])).as("bn.running_var[%d]", i).isEqualTo(Float.floatToRawIntBits(runningVar[i]));
            }
            assertThat(restored.tensors().get("bn.running_var").codec()).isEqualTo("exact");
            Map<String, RestoredState.Tensor> floats = new LinkedHashMap<>(restored.tensors());
            floats.keySet().retainAll(dtypes.keySet());
            assertBits(new RestoredState(restored.job(), restored.generation(), restored.step(), floats, 0, 0, 0, 0, Duration.ZERO, List.of(), 0),
                    expected);
            integers.forEach((name, values) -> {
                assertThat(restored.tensors().get(name).dtype()).isEqualTo(exact.get(name));
                assertThat(restored.tensors().get(name).longs()).as("%s, %s split", name, split).containsExactly(values);
            });
            assertThat(restored.tensors().get("w.bf16").dtype()).isEqualTo(DType.BFLOAT16);

            Path model = out.resolve(split + ".safetensors");
            io.lccheckpoint.restorer.SafetensorsWriter.write(restored, model);
            byte[] bytes = Files.readAllBytes(model);
            long headerLength = java.nio.ByteBuffer.wrap(bytes, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
            String header = new String(bytes, 8, (int) headerLength, java.nio.charset.StandardCharsets.UTF_8);
            assertThat(header).contains("\"BF16\"", "\"F16\"", "\"F32\"", "\"I64\"", "\"I32\"", "\"BOOL\"");
            assertThat(bytes.length).isEqualTo(8 + headerLength + 2L * sizes.get("w.bf16") + 2L * sizes.get("w.fp16") + 4L * sizes.get("w.f32")
                    + 8L + 4L * exactSizes.get("buf.frozen") + exactSizes.get("buf.mask") + 4L * runningVar.length);
            // the bool mask as its bytes: 0 and 1, just before the running variance's float32 values
            long[] mask = integers.get("buf.mask");
            int maskStart = bytes.length - 4 * runningVar.length - mask.length;
            for (int i = 0; i < mask.length; i++) {
                assertThat(bytes[maskStart + i]).isEqualTo((byte) mask[i]);
            }
            Path summary = out.resolve(split + ".json");
            io.lccheckpoint.restorer.SafetensorsWriter.writeSummary(restored, summary);
            String json = Files.readString(summary);
            assertThat(json).contains("\"codec\" : \"exact\"", "\"codec\" : \"" + own.describe() + "\"", "\"codec\" : \"job\"");
        }
    }

    /**
     * The command line over a job with two generations (a resumed run): {@code lcckpt steps} lists both,
     * {@code restore --generation} rebuilds the older one's steps bit for bit, and user errors are one line, exit 1.
     */
    @Test
    void theCommandLineListsStepsPerGenerationAndRestoresAnOlderOne(@TempDir Path out) throws Exception {
        String job = "cli-generations";
        SyntheticTrainer trainer = new SyntheticTrainer(3, model(1_000), CHUNK, CodecOptions.zeroRun(2));
        Map<String, Object> config = producerConfig(job);
        config.put("lcckpt.generation", 1L);
        Map<String, float[]> olderStep4 = null;
        long resumed;
        try (CheckpointProducer producer = new CheckpointProducer(config)) {
            model(1_000).forEach((name, size) -> producer.registerTensor(name, new long[] {size}, DType.FLOAT32));
            producer.publish(0, trainer.snapshot());
            for (long step = 1; step <= 6; step++) {
                trainer.step();
                producer.publish(step, trainer.snapshot()).join();
                if (step == 4) {
                    olderStep4 = trainer.expectedRestore();
                }
            }
            // a crash after step 6, resumed from step 4's restored state: generation 1 keeps its steps, the new one starts at 4
            Restorer restorer = restorer();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() -> latestStep(restorer, job) == 6);
            assertBits(restorer.restore(job, 4, null), olderStep4);
            Map<String, Object> state = new LinkedHashMap<>();
            olderStep4.forEach((name, values) -> state.put(name, values.clone()));
            producer.resume(4, state);
            resumed = producer.generation();
            trainer.state.clear();
            olderStep4.forEach((name, values) -> trainer.state.put(name, values.clone()));
            trainer.resetReference();
            for (long step = 5; step <= 7; step++) {
                trainer.step();
                producer.publish(step, trainer.snapshot()).join();
            }
        }
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() -> latestStep(restorer(), job) == 7);

        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        java.io.PrintStream stdout = System.out;
        System.setOut(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
        int listed;
        try {
            listed = Lcckpt.execute("steps", "--job", job, "-b", kafka.bootstrapServers());
        } finally {
            System.setOut(stdout);
        }
        String table = printed.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(listed).as(table).isZero();
        assertThat(table.lines().filter(line -> line.startsWith("1 ")).count()).as(table).isEqualTo(7); // generation 1: steps 0..6
        assertThat(table.lines().filter(line -> line.startsWith(resumed + " ")).count()).as(table).isEqualTo(4); // resumed: 4..7

        // generation 1's step 4, asked for by generation, as the codec's chain made it
        Path older = out.resolve("older.safetensors");
        assertThat(Lcckpt.execute("restore", "--job", job, "--generation", "1", "--step", "4", "--out", older.toString(),
                "-b", kafka.bootstrapServers())).isZero();
        RestoredState oldFour = restorer().restore(job, java.util.OptionalLong.of(1), java.util.OptionalLong.of(4), null);
        assertThat(Files.readString(out.resolve("older.safetensors.json"))).contains("\"generation\" : 1,", "\"step\" : 4,");
        assertBits(oldFour, olderStep4);
        RestoredState newFive = restorer().restore(job, 5, null);
        assertThat(newFive.generation()).isEqualTo(resumed);
        assertThat(restorer().restore(job, java.util.OptionalLong.of(1), java.util.OptionalLong.empty(), null).step()).isEqualTo(6);

        java.io.StringWriter errors = new java.io.StringWriter();
        int failed = Lcckpt.execute(new java.io.PrintWriter(errors, true), "restore", "--job", job, "--generation", "42", "--out",
                out.resolve("none.safetensors").toString(), "-b", kafka.bootstrapServers());
        assertThat(failed).isEqualTo(1);
        java.io.StringWriter noKafka = new java.io.StringWriter();
        assertThat(Lcckpt.execute(new java.io.PrintWriter(noKafka, true), "steps", "--job", job)).isEqualTo(1);
        assertThat(noKafka.toString()).startsWith("lcckpt steps: no Kafka to talk to").doesNotContain("\tat io.lccheckpoint");
    }

    /** A checkpoint topic someone else created without compaction (a broker's auto-create) is refused, named, with the fix. */
    @Test
    void aCheckpointTopicThatIsNotCompactedIsRefusedWithTheFix() throws Exception {
        String job = "not-compacted";
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic("lcckpt." + job + ".checkpoints", 1, (short) 1)
                    .configs(Map.of("cleanup.policy", "delete")))).all().get();
        }
        assertThatThrownBy(() -> new CheckpointProducer(producerConfig(job))).isInstanceOf(org.apache.kafka.common.KafkaException.class)
                .hasMessageContaining("topic lcckpt.not-compacted.checkpoints exists with cleanup.policy=delete")
                .hasMessageContaining("kafka-configs --alter --add-config cleanup.policy=compact");
    }

    /** A restore that finds no step says what the job's dead letters say: the records the encoder refused, and why. */
    @Test
    void aRestoreThatFindsNoStepQuotesTheJobsDeadLetters() throws Exception {
        String job = "dead-lettered";
        try (CheckpointProducer producer = new CheckpointProducer(producerConfig(job))) {
            producer.registerTensor("w", new long[] {4}, DType.FLOAT32);
            // nothing published: the topics exist, and a stray record (not Avro of ours) arrives on the raw topic
        }
        try (org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]> stray = new org.apache.kafka.clients.producer.KafkaProducer<>(
                Map.of("bootstrap.servers", kafka.bootstrapServers()), new org.apache.kafka.common.serialization.ByteArraySerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            stray.send(new org.apache.kafka.clients.producer.ProducerRecord<>("lcckpt." + job + ".raw-deltas", "k".getBytes(),
                    "not a checkpoint record".getBytes())).get();
        }
        Restorer restorer = restorer();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> restorer.deadLetters(job) != null);
        assertThatThrownBy(() -> restorer.restoreLatest(job, null)).isInstanceOf(RestoreException.class)
                .hasMessageContaining("no complete step")
                .hasMessageContaining("the job's dead-letter topic lcckpt.dead-lettered.dead-letters holds records the encoder refused; the latest 1: ")
                .hasMessageContaining("undecodable record");
    }

    private static Map<String, Object> with(Map<String, Object> values, String name, Object value) {
        values.put(name, value);
        return values;
    }

    private static float roundTo(ValueType type, float value) {
        return type == ValueType.FLOAT32 ? value : SixteenBitFloats.round(type, value);
    }

    /**
     * As a trainer publishes: float[] for float32, the values' bits for the 16-bit types, long[] for the int64 counter,
     * int[] for the int32 buffer, boolean[] for the bool mask.
     */
    private static Map<String, Object> published(Map<String, float[]> state, Map<String, DType> dtypes, Map<String, long[]> integers) {
        Map<String, Object> values = new LinkedHashMap<>();
        state.forEach((name, floats) -> {
            DType dtype = dtypes.get(name);
            values.put(name, dtype == DType.FLOAT32 ? floats.clone() : SixteenBitFloats.toBits(ValueType.valueOf(dtype.name()), floats));
        });
        integers.forEach((name, longs) -> {
            if (name.equals("buf.mask")) {
                boolean[] flags = new boolean[longs.length];
                for (int i = 0; i < flags.length; i++) {
                    flags[i] = longs[i] != 0;
                }
                values.put(name, flags);
            } else if (name.equals("buf.frozen")) {
                values.put(name, Arrays.stream(longs).mapToInt(v -> (int) v).toArray());
            } else {
                values.put(name, longs.clone());
            }
        });
        return values;
    }

    @Test
    void writesSafetensorsAndASummary(@TempDir Path out) throws Exception {
        String job = "pipeline-files";
        SyntheticTrainer trainer = new SyntheticTrainer(2, model(5_000), CHUNK, CodecOptions.zeroRun(2));
        try (CheckpointProducer producer = new CheckpointProducer(producerConfig(job))) {
            trainer.state.forEach((name, values) -> producer.registerTensor(name, new long[] {values.length}, DType.FLOAT32));
            producer.publish(0, trainer.snapshot());
            for (long step = 1; step <= 3; step++) {
                trainer.step();
                producer.publish(step, trainer.snapshot());
            }
        }
        Restorer restorer = restorer();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> latestStep(restorer, job) == 3);
        RestoredState state = restorer.restoreLatest(job, null);
        Path model = out.resolve("model.safetensors");
        io.lccheckpoint.restorer.SafetensorsWriter.write(state, model);
        io.lccheckpoint.restorer.SafetensorsWriter.writeSummary(state, out.resolve("model.json"));
        byte[] bytes = Files.readAllBytes(model);
        long headerLength = java.nio.ByteBuffer.wrap(bytes, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(bytes, 8, (int) headerLength, java.nio.charset.StandardCharsets.UTF_8);
        assertThat(header).contains("\"layer1.weight\"").contains("\"F32\"").contains("\"data_offsets\"");
        long values = trainer.state.values().stream().mapToLong(v -> v.length).sum();
        assertThat(bytes.length).isEqualTo(8 + headerLength + 4 * values);
        assertThat(Files.readString(out.resolve("model.json"))).contains("\"step\" : 3").contains("xxh64");
    }
}
