package io.lccheckpoint.encoder;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.RemainingStages;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;

/**
 * An encoder upgraded from before issue #12 finds, in its changelogged store, each chunk's full state as the old encoder
 * wrote it at every step (version 2): it codes the next step from it exactly as the old encoder would have.
 */
class LegacyChunkStateTest {
    private static final String JOB = "job-l";
    private static final int N = 500;
    private static final String KEY = JOB + '\u0000' + "w" + '\u0000' + 0;

    @Test
    void aVersion2FullStateInTheChangelogIsCodedOnFromAsBefore() throws Exception {
        SplittableRandom random = new SplittableRandom(3);
        float[] initial = gaussian(random, 1);
        float[] delta1 = gaussian(random, 1e-3);
        float[] delta2 = gaussian(random, 1e-3);
        byte[] expected;
        byte[] legacy;
        try (Driver before = new Driver()) {
            before.send(0, initial, true);
            before.send(1, delta1, false);
            // the full state after step 1, in the layout encoders before issue #12 kept in their changelog (version 2)
            legacy = version2(ChunkRecordState.deserialize(before.work().get(KEY)));
            before.send(2, delta2, false);
            expected = before.lastCoded();
        }
        try (Driver after = new Driver()) {
            after.books().put(KEY, legacy);
            after.send(2, delta2, false);
            assertThat(after.lastCoded()).as("step 2 coded from the upgraded state").isEqualTo(expected);
            ChunkRecordState book = ChunkRecordState.deserialize(after.books().get(KEY));
            assertThat(book.legacy).isFalse();
            assertThat(book.approxInBook).as("the upgraded book carries ũ: its anchor is no superstep").isTrue();
        }
    }

    private static byte[] version2(ChunkRecordState state) {
        ByteBuffer buffer = ByteBuffer.allocate(1 + 8 * 4 + 1 + 1 + 4 + 4 + 8 * state.supersteps.size() + 4 + 8 * state.encodedSteps.toList().size() + 4
                + 2 * 4 * state.size()).order(ByteOrder.LITTLE_ENDIAN);
        buffer.put((byte) 2).putLong(state.generation).putLong(state.lastStep).putLong(state.poisonedAt).putLong(state.lastSuperstep);
        buffer.put((byte) state.dtype.ordinal()).put((byte) 0).putInt(state.size());
        buffer.putInt(state.supersteps.size());
        state.supersteps.forEach(superstep -> buffer.putLong(superstep.step()));
        buffer.putInt(state.encodedSteps.toList().size());
        state.encodedSteps.forEach(buffer::putLong);
        buffer.putInt(0);
        buffer.asFloatBuffer().put(state.chunk.approxFloat());
        buffer.position(buffer.position() + 4 * state.size());
        buffer.asFloatBuffer().put(state.chunk.residualFloat());
        return buffer.array();
    }

    private static float[] gaussian(SplittableRandom random, double sigma) {
        float[] values = new float[N];
        for (int i = 0; i < N; i++) {
            values[i] = (float) (random.nextGaussian() * sigma);
        }
        return values;
    }

    /** An encoder under a test driver with a state directory of its own. */
    private static final class Driver implements AutoCloseable {
        final TopologyTestDriver driver;
        final TestInputTopic<byte[], byte[]> raw;
        final TestOutputTopic<byte[], byte[]> checkpoints;
        private byte[] lastCoded;

        Driver() throws Exception {
            EncoderSettings settings = new EncoderSettings(Map.of(EncoderSettings.SUPERSTEP_POLICY_CONFIG, "steps"));
            Properties properties = EncoderApp.streamsConfig(settings);
            properties.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
            properties.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("legacy-test").toString());
            driver = new TopologyTestDriver(EncoderTopology.build(settings), properties);
            raw = driver.createInputTopic("lcckpt." + JOB + ".raw-deltas", new ByteArraySerializer(), new ByteArraySerializer());
            checkpoints = driver.createOutputTopic("lcckpt." + JOB + ".checkpoints", new ByteArrayDeserializer(), new ByteArrayDeserializer());
        }

        void send(long step, float[] values, boolean initial) {
            ByteBuffer bytes = ByteBuffer.allocate(4 * N).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(values);
            RawDeltaChunk chunk = new RawDeltaChunk(JOB, 1L, step, "w", 0, 1, 1, DType.FLOAT32, initial, bytes, RemainingStages.ALL, null, false, false,
                    initial ? null : step - 1, null, null);
            raw.pipeInput(SingleObjectSerde.encode(new ChunkKey(JOB, "w", 0)), SingleObjectSerde.encode(chunk));
            for (TestRecord<byte[], byte[]> record : checkpoints.readRecordsToList()) {
                if (((CheckpointKey) SingleObjectSerde.decode(record.key())).getKind() == RecordKind.ENCODED_CHUNK) {
                    ByteBuffer codec = ((EncodedChunkRecord) SingleObjectSerde.decode(record.value())).getCodec();
                    lastCoded = new byte[codec.remaining()];
                    codec.duplicate().get(lastCoded);
                }
            }
        }

        byte[] lastCoded() {
            return lastCoded;
        }

        KeyValueStore<String, byte[]> work() {
            return driver.getKeyValueStore(EncodeProcessor.WORK_STORE);
        }

        KeyValueStore<String, byte[]> books() {
            return driver.getKeyValueStore(EncodeProcessor.STORE);
        }

        @Override
        public void close() {
            driver.close();
        }
    }
}
