package io.lccheckpoint.encoder;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.DeadLetter;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.SuperstepChunk;
import io.lccheckpoint.schema.TensorInfo;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The encoder's topology logic without a broker (the real-broker runs are in the pipeline's integration tests). */
class EncoderTopologyTest {
    private static final String JOB = "job-a";
    private static final int N = 1000;

    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> raw;
    private TestOutputTopic<byte[], byte[]> checkpoints;
    private TestOutputTopic<byte[], byte[]> deadLetters;
    private final List<TestRecord<byte[], byte[]>> checkpointLog = new ArrayList<>();

    @BeforeEach
    void start() {
        EncoderSettings settings = new EncoderSettings(Map.of(EncoderSettings.SUPERSTEP_INTERVAL_CONFIG, 4, EncoderSettings.SUPERSTEP_RETAIN_CONFIG, 2,
                EncoderSettings.SUPERSTEP_POLICY_CONFIG, "steps"));
        Properties properties = EncoderApp.streamsConfig(settings);
        properties.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        driver = new TopologyTestDriver(EncoderTopology.build(settings), properties);
        raw = driver.createInputTopic("lcckpt." + JOB + ".raw-deltas", new ByteArraySerializer(), new ByteArraySerializer());
        checkpoints = driver.createOutputTopic("lcckpt." + JOB + ".checkpoints", new ByteArrayDeserializer(), new ByteArrayDeserializer());
        deadLetters = driver.createOutputTopic("lcckpt." + JOB + ".dead-letters", new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    @Test
    void aStepIsCompleteOnlyWhenEveryChunkIsCoded() {
        publish(0, true, 0f);
        assertThat(kinds()).contains(RecordKind.MANIFEST, RecordKind.SUPERSTEP_CHUNK, RecordKind.STEP_COMPLETE);
        sendChunk(chunk(1, 0, false, ramp(N, 0.001f), 2), 1);
        assertThat(kinds()).containsOnly(RecordKind.ENCODED_CHUNK);
        sendChunk(chunk(1, 1, false, ramp(N, 0.001f), 2), 1);
        List<RecordKind> kinds = kinds();
        assertThat(kinds).contains(RecordKind.ENCODED_CHUNK, RecordKind.STEP_COMPLETE);
        StepComplete marker = (StepComplete) value(RecordKind.STEP_COMPLETE);
        assertThat(marker.getStep()).isEqualTo(1);
        assertThat(marker.getChunks()).isEqualTo(2);
        assertThat(marker.getRawBytes()).isEqualTo(2L * 4 * N);
        assertThat(marker.getEncodedBytes()).isLessThan(marker.getRawBytes() / 10);
        // a plain step writes nothing to the changelog: the chunks' working states are local (issue #12)
        assertThat(marker.getStateBytes()).isZero();
    }

    @Test
    void supersteps_areWrittenAtTheIntervalAndOldRecordsAreTombstoned() {
        publish(0, true, 0f);
        for (int step = 1; step <= 12; step++) {
            publish(step, false, 0.001f * step);
        }
        kinds();
        List<CheckpointKey> supersteps = new ArrayList<>();
        List<CheckpointKey> tombstones = new ArrayList<>();
        for (TestRecord<byte[], byte[]> record : checkpointLog) {
            CheckpointKey key = (CheckpointKey) SingleObjectSerde.decode(record.key());
            if (record.value() == null) {
                tombstones.add(key);
            } else if (key.getKind() == RecordKind.SUPERSTEP_CHUNK) {
                supersteps.add(key);
            }
        }
        // initial state at 0, then every multiple of 4, per chunk
        assertThat(supersteps.stream().map(CheckpointKey::getStep).distinct()).containsExactly(0L, 4L, 8L, 12L);
        // retain 2: at step 8 the superstep of 0 goes, with the deltas up to 4; at 12 the superstep of 4 and deltas up to 8
        assertThat(tombstones).anySatisfy(key -> {
            assertThat(key.getKind()).isEqualTo(RecordKind.SUPERSTEP_CHUNK);
            assertThat(key.getStep()).isEqualTo(0);
        });
        assertThat(tombstones.stream().filter(key -> key.getKind() == RecordKind.ENCODED_CHUNK).map(CheckpointKey::getStep).distinct().sorted())
                .containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
        assertThat(tombstones.stream().filter(key -> key.getKind() == RecordKind.STEP_COMPLETE).map(CheckpointKey::getStep).distinct().sorted())
                .containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L);
        assertThat(tombstones.stream().filter(key -> key.getKind() == RecordKind.SUPERSTEP_CHUNK).map(CheckpointKey::getStep).distinct().sorted())
                .containsExactly(0L, 4L);
    }

    @Test
    void aForgedFutureStepIsRefusedAndTheTrainersRealStepsGoOn() {
        publish(0, true, 0f);
        publish(1, false, 0.001f);
        publish(2, false, 0.002f);
        kinds();
        // a valid-looking chunk of step 85 while the chain is at 2 (issue #11): it says it follows 84
        sendChunk(chunk(85, 0, false, ramp(N, 0.5f), 2), 0);
        publish(3, false, 0.003f);
        List<DeadLetter> letters = deadLetters.readRecordsToList().stream().map(r -> (DeadLetter) SingleObjectSerde.decode(r.value())).toList();
        assertThat(letters).singleElement().satisfies(letter -> {
            assertThat(letter.getStep()).isEqualTo(85);
            assertThat(letter.getReason()).startsWith("step 85 follows step 84, but the chunk's last coded step is 2");
        });
        List<RecordKind> kinds = kinds();
        assertThat(kinds).contains(RecordKind.STEP_COMPLETE);
        assertThat(((StepComplete) value(RecordKind.STEP_COMPLETE)).getStep()).isEqualTo(3);
        assertThat(((StepComplete) value(RecordKind.STEP_COMPLETE)).getDigest()).as("the step's content digest").isNotNull();
        // a manifest altered after it was sealed is refused, naming the step
        StepManifest altered = io.lccheckpoint.schema.StepDigest.sealed(new StepManifest(JOB, 1L, 4L, null,
                List.of(new TensorInfo("w", List.of(2L * N), DType.FLOAT32, N, 2, null)), null));
        altered.setTensors(List.of(new TensorInfo("w", List.of(2L, (long) N), DType.FLOAT32, N, 2, null)));
        raw.pipeInput(SingleObjectSerde.encode(new ChunkKey(JOB, "", -1)), SingleObjectSerde.encode(altered));
        assertThat(deadLetters.readRecordsToList()).singleElement().satisfies(letter ->
                assertThat(((DeadLetter) SingleObjectSerde.decode(letter.value())).getReason()).startsWith("the manifest of step 4 fails its checksum"));
        // the encoded records say which step they follow, so a restore can check the chain
        EncodedChunkRecord three = (EncodedChunkRecord) value(RecordKind.ENCODED_CHUNK);
        assertThat(three.getStep()).isEqualTo(3);
        assertThat(three.getPreviousStep()).isEqualTo(2);
    }

    @Test
    void badRecordsGoToTheDeadLetterTopicAndTheChainGoesOn() {
        publish(0, true, 0f);
        raw.pipeInput(SingleObjectSerde.encode(new ChunkKey(JOB, "w", 0)), new byte[] {1, 2, 3});
        byte[] unknownSchema = SingleObjectSerde.encode(chunk(1, 0, false, ramp(N, 0.001f), 2));
        unknownSchema[5] ^= 0x55;
        raw.pipeInput(SingleObjectSerde.encode(new ChunkKey(JOB, "w", 0)), unknownSchema);
        float[] poisoned = ramp(N, 0.001f);
        poisoned[17] = Float.NaN;
        sendChunk(chunk(1, 1, false, poisoned, 2), 0);
        sendChunk(chunk(1, 0, false, new float[N - 1], 2), 0);
        RawDeltaChunk wrongType = chunk(1, 0, false, ramp(N, 0.001f), 2);
        wrongType.setDtype(DType.FLOAT64);
        wrongType.setValues(ByteBuffer.allocate(8 * N));
        sendChunk(wrongType, 0);
        sendChunk(chunk(1, 0, false, ramp(N, 0.001f), 2), 0);
        sendChunk(chunk(1, 0, false, ramp(N, 0.001f), 2), 0);
        sendChunk(chunk(0, 0, false, ramp(N, 0.001f), 2), 0);

        List<DeadLetter> letters = new ArrayList<>();
        for (TestRecord<byte[], byte[]> record : deadLetters.readRecordsToList()) {
            letters.add((DeadLetter) SingleObjectSerde.decode(record.value()));
        }
        assertThat(letters).extracting(DeadLetter::getReason).satisfiesExactly(
                reason -> assertThat(reason).contains("undecodable"),
                reason -> assertThat(reason).contains("unknown schema fingerprint"),
                reason -> assertThat(reason).contains("poisoned step").contains("NaN").contains("index 17"),
                reason -> assertThat(reason).contains("shape mismatch"),
                reason -> assertThat(reason).contains("dtype mismatch"),
                reason -> assertThat(reason).contains("duplicate step"),
                reason -> assertThat(reason).contains("out-of-order step"));
        DeadLetter poisonedLetter = letters.get(2);
        assertThat(poisonedLetter.getJob()).isEqualTo(JOB);
        assertThat(poisonedLetter.getStep()).isEqualTo(1);
        assertThat(poisonedLetter.getTensor()).isEqualTo("w");
        assertThat(poisonedLetter.getSourceTopic()).isEqualTo("lcckpt." + JOB + ".raw-deltas");
        // chunk 0 of step 1 was coded once; chunk 1 was poisoned, so step 1 never completes
        List<RecordKind> kinds = kinds();
        assertThat(kinds.stream().filter(kind -> kind == RecordKind.ENCODED_CHUNK)).hasSize(1);
        assertThat(checkpointLog).noneSatisfy(record -> {
            CheckpointKey key = (CheckpointKey) SingleObjectSerde.decode(record.key());
            assertThat(key.getKind()).isEqualTo(RecordKind.STEP_COMPLETE);
            assertThat(key.getStep()).isEqualTo(1);
        });
        double deadLetterMetric = driver.metrics().entrySet().stream()
                .filter(entry -> entry.getKey().name().equals("dead-letters-total"))
                .mapToDouble(entry -> (Double) entry.getValue().metricValue()).sum();
        assertThat(deadLetterMetric).isEqualTo(7.0);
    }

    @Test
    void theSplitsProtocolIsEnforcedAndAHandoverCarriesTheStateTheEncoderWouldHaveUsed() {
        io.lccheckpoint.codec.CodecOptions options = new EncoderSettings(Map.of()).codecOptions();
        TestOutputTopic<byte[], byte[]> handovers = driver.createOutputTopic("lcckpt." + JOB + ".handover", new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
        publish(0, true, 0f);
        // a coded chunk while the encoder holds the residual (no handover asked for): refused, the chunk poisoned
        io.lccheckpoint.codec.ChunkState trainerSide = io.lccheckpoint.codec.ChunkState.float32(ramp(N, 1f));
        byte[] coded = new io.lccheckpoint.codec.ChunkEncoder(options).encode(ramp(N, 0.001f), trainerSide).record();
        RawDeltaChunk unasked = chunk(1, 0, false, new float[0], 2);
        unasked.setValues(ByteBuffer.wrap(coded));
        unasked.setRemaining(io.lccheckpoint.schema.RemainingStages.NONE);
        unasked.setCodecOptions(options.describe());
        sendChunk(unasked, 0);
        // chunk 1: a raw delta asking for a handover is coded here and its state goes to the trainer
        RawDeltaChunk asking = chunk(1, 1, false, ramp(N, 0.002f), 2);
        asking.setHandover(true);
        sendChunk(asking, 0);
        List<TestRecord<byte[], byte[]>> handed = handovers.readRecordsToList();
        assertThat(handed).hasSize(1);
        io.lccheckpoint.schema.ChunkStateHandover state = (io.lccheckpoint.schema.ChunkStateHandover) SingleObjectSerde.decode(handed.get(0).value());
        io.lccheckpoint.codec.ChunkState expected = io.lccheckpoint.codec.ChunkState.float32(ramp(N, 1f));
        new io.lccheckpoint.codec.ChunkEncoder(options).encode(ramp(N, 0.002f), expected);
        float[] approx = new float[N];
        state.getApprox().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(approx);
        float[] residual = new float[N];
        state.getResidual().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(residual);
        assertThat(approx).containsExactly(expected.approxFloat());
        assertThat(residual).containsExactly(expected.residualFloat());
        assertThat(state.getStep()).isEqualTo(1);
        // the trainer now codes chunk 1: other options are refused; a raw delta without the residual folded in too
        byte[] next = new io.lccheckpoint.codec.ChunkEncoder(io.lccheckpoint.codec.CodecOptions.paper(3)).encode(ramp(N, 0.003f), expected.copy()).record();
        RawDeltaChunk otherOptions = chunk(2, 1, false, new float[0], 2);
        otherOptions.setValues(ByteBuffer.wrap(next));
        otherOptions.setRemaining(io.lccheckpoint.schema.RemainingStages.NONE);
        otherOptions.setCodecOptions(io.lccheckpoint.codec.CodecOptions.paper(3).describe());
        sendChunk(otherOptions, 0);

        List<String> reasons = new ArrayList<>();
        for (TestRecord<byte[], byte[]> record : deadLetters.readRecordsToList()) {
            reasons.add(((DeadLetter) SingleObjectSerde.decode(record.value())).getReason());
        }
        assertThat(reasons).satisfiesExactly(
                reason -> assertThat(reason).contains("encoder holds this chunk's residual"),
                reason -> assertThat(reason).contains("options bits=3,entropy=HUFFMAN").contains("would not be the one the storage split makes"));
    }

    @Test
    void aTrainerCodedChunkIsStoredAsItCameAndARawDeltaAfterItMustCarryTheResidual() {
        io.lccheckpoint.codec.CodecOptions options = new EncoderSettings(Map.of()).codecOptions();
        // the trainer codes from the start (the initial state asks for the handover, which needs no record)
        StepManifest manifest = new StepManifest(JOB, 1L, 0L, null, List.of(new TensorInfo("w", List.of(2L * N), DType.FLOAT32, N, 2, null)), null);
        raw.pipeInput(SingleObjectSerde.encode(new ChunkKey(JOB, "", -1)), SingleObjectSerde.encode(manifest));
        io.lccheckpoint.codec.ChunkState[] trainer = new io.lccheckpoint.codec.ChunkState[2];
        for (int c = 0; c < 2; c++) {
            RawDeltaChunk initial = chunk(0, c, true, ramp(N, 1f), 2);
            initial.setHandover(true);
            sendChunk(initial, 0);
            trainer[c] = io.lccheckpoint.codec.ChunkState.float32(ramp(N, 1f));
        }
        kinds();
        byte[] first = new io.lccheckpoint.codec.ChunkEncoder(options).encode(ramp(N, 0.002f), trainer[0]).record();
        RawDeltaChunk coded = chunk(1, 0, false, new float[0], 2);
        coded.setValues(ByteBuffer.wrap(first));
        coded.setRemaining(io.lccheckpoint.schema.RemainingStages.NONE);
        coded.setCodecOptions(options.describe());
        sendChunk(coded, 0);
        assertThat(kinds()).containsExactly(RecordKind.ENCODED_CHUNK);
        EncodedChunkRecord stored = (EncodedChunkRecord) SingleObjectSerde.decode(lastRead.get(0).value());
        byte[] storedBytes = new byte[stored.getCodec().remaining()];
        stored.getCodec().duplicate().get(storedBytes);
        assertThat(storedBytes).isEqualTo(first);
        // a raw delta for chunk 1 (which the trainer coded from step 0) without residualFolded is refused
        sendChunk(chunk(1, 1, false, ramp(N, 0.002f), 2), 0);
        // a corrupt coded record is refused too (chunk 0, step 2), never applied
        byte[] second = new io.lccheckpoint.codec.ChunkEncoder(options).encode(ramp(N, 0.004f), trainer[0]).record();
        second[second.length / 2] ^= 0x10;
        RawDeltaChunk corrupt = chunk(2, 0, false, new float[0], 2);
        corrupt.setValues(ByteBuffer.wrap(second));
        corrupt.setRemaining(io.lccheckpoint.schema.RemainingStages.NONE);
        corrupt.setCodecOptions(options.describe());
        sendChunk(corrupt, 0);
        List<String> reasons = new ArrayList<>();
        for (TestRecord<byte[], byte[]> record : deadLetters.readRecordsToList()) {
            reasons.add(((DeadLetter) SingleObjectSerde.decode(record.value())).getReason());
        }
        assertThat(reasons).satisfiesExactly(
                reason -> assertThat(reason).contains("without the trainer's residual folded in"),
                reason -> assertThat(reason).contains("unusable coded chunk"));
    }

    /** One step of a tensor "w" of two chunks; the manifest first, as the producer does. */
    private void publish(long step, boolean initial, float scale) {
        StepManifest manifest = new StepManifest(JOB, 1L, step, null,
                List.of(new TensorInfo("w", List.of(2L * N), DType.FLOAT32, N, 2, null)), null);
        raw.pipeInput(SingleObjectSerde.encode(new ChunkKey(JOB, "", -1)), SingleObjectSerde.encode(manifest));
        for (int c = 0; c < 2; c++) {
            sendChunk(chunk(step, c, initial, initial ? ramp(N, 1f) : ramp(N, scale), 2), 0);
        }
    }

    private void sendChunk(RawDeltaChunk chunk, int unused) {
        raw.pipeInput(SingleObjectSerde.encode(new ChunkKey(JOB, chunk.getTensor(), chunk.getChunk())), SingleObjectSerde.encode(chunk));
    }

    private static RawDeltaChunk chunk(long step, int chunk, boolean initial, float[] values, int stepChunks) {
        ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        return new RawDeltaChunk(JOB, 1L, step, "w", chunk, 2, stepChunks, DType.FLOAT32, initial, bytes, io.lccheckpoint.schema.RemainingStages.ALL, null, false, false,
                initial ? null : step - 1, null, null);
    }

    private static float[] ramp(int n, float scale) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = scale * (float) Math.sin(i * 0.37 + scale);
        }
        return values;
    }

    private List<RecordKind> kinds() {
        List<TestRecord<byte[], byte[]>> records = checkpoints.readRecordsToList();
        checkpointLog.addAll(records);
        lastRead = records;
        List<RecordKind> kinds = new ArrayList<>();
        for (TestRecord<byte[], byte[]> record : records) {
            kinds.add(((CheckpointKey) SingleObjectSerde.decode(record.key())).getKind());
        }
        return kinds;
    }

    private List<TestRecord<byte[], byte[]>> lastRead = List.of();

    private SpecificRecord value(RecordKind kind) {
        for (TestRecord<byte[], byte[]> record : checkpointLog) {
            if (((CheckpointKey) SingleObjectSerde.decode(record.key())).getKind() == kind && record.value() != null) {
                last = SingleObjectSerde.decode(record.value());
            }
        }
        return last;
    }

    private SpecificRecord last;
}
