package io.lccheckpoint.encoder;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.RemainingStages;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.TensorInfo;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;

/**
 * Supersteps by bytes (issue #12, {@link SuperstepPolicy}): a chunk takes one exactly when its coded bytes since the last
 * reach the ratio times a superstep's size, at steps of its own, so supersteps stay at most 1 / (1 + ratio) of the
 * topic and a restore reads at most 1 + ratio full states; markers tell a restore where to seek and what is restorable.
 */
class SuperstepPolicyTest {
    private static final String JOB = "job-p";
    private static final int N = 1000;
    private static final double RATIO = 2.0;

    @Test
    void aChunkTakesASuperstepWhenItsCodedBytesReachTheRatioAndMarkersSayWhereToSeek() {
        EncoderSettings settings = new EncoderSettings(Map.of(EncoderSettings.SUPERSTEP_POLICY_CONFIG, "bytes",
                EncoderSettings.SUPERSTEP_BYTES_RATIO_CONFIG, RATIO, EncoderSettings.SUPERSTEP_RETAIN_CONFIG, 2, EncoderSettings.SUPERSTEP_INTERVAL_CONFIG, 25));
        Properties properties = EncoderApp.streamsConfig(settings);
        properties.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        // chunk -> step -> coded bytes; chunk -> superstep steps
        Map<Integer, TreeMap<Long, Integer>> coded = new TreeMap<>();
        Map<Integer, List<Long>> supersteps = new TreeMap<>();
        List<StepComplete> markers = new ArrayList<>();
        try (TopologyTestDriver driver = new TopologyTestDriver(EncoderTopology.build(settings), properties)) {
            TestInputTopic<byte[], byte[]> raw = driver.createInputTopic("lcckpt." + JOB + ".raw-deltas", new ByteArraySerializer(), new ByteArraySerializer());
            TestOutputTopic<byte[], byte[]> checkpoints = driver.createOutputTopic("lcckpt." + JOB + ".checkpoints", new ByteArrayDeserializer(),
                    new ByteArrayDeserializer());
            SplittableRandom random = new SplittableRandom(5);
            for (long step = 0; step <= 300; step++) {
                StepManifest manifest = new StepManifest(JOB, 1L, step, null, List.of(new TensorInfo("w", List.of(2L * N), DType.FLOAT32, N, 2, null)), null);
                raw.pipeInput(SingleObjectSerde.encode(new ChunkKey(JOB, "", -1)), SingleObjectSerde.encode(manifest));
                for (int c = 0; c < 2; c++) {
                    float[] values = new float[N];
                    for (int i = 0; i < N; i++) {
                        // chunk 1 changes in few places a step: its deltas code smaller, so it takes supersteps later
                        values[i] = step == 0 ? (float) random.nextGaussian() : c == 0 || i % 8 == 0 ? (float) (random.nextGaussian() * 1e-3) : 0f;
                    }
                    ByteBuffer bytes = ByteBuffer.allocate(4 * N).order(ByteOrder.LITTLE_ENDIAN);
                    bytes.asFloatBuffer().put(values);
                    RawDeltaChunk chunk = new RawDeltaChunk(JOB, 1L, step, "w", c, 2, 2, DType.FLOAT32, step == 0, bytes, RemainingStages.ALL, null, false,
                            false, step == 0 ? null : step - 1, null, null);
                    raw.pipeInput(SingleObjectSerde.encode(new ChunkKey(JOB, "w", c)), SingleObjectSerde.encode(chunk));
                }
                for (TestRecord<byte[], byte[]> record : checkpoints.readRecordsToList()) {
                    CheckpointKey key = (CheckpointKey) SingleObjectSerde.decode(record.key());
                    if (record.value() == null) {
                        continue;
                    }
                    switch (key.getKind()) {
                        case ENCODED_CHUNK -> coded.computeIfAbsent(key.getChunk(), c -> new TreeMap<>())
                                .put(key.getStep(), ((EncodedChunkRecord) SingleObjectSerde.decode(record.value())).getCodec().remaining());
                        case SUPERSTEP_CHUNK -> supersteps.computeIfAbsent(key.getChunk(), c -> new ArrayList<>()).add(key.getStep());
                        case STEP_COMPLETE -> markers.add((StepComplete) SingleObjectSerde.decode(record.value()));
                        default -> { }
                    }
                }
            }
        }
        long superstepBytes = 4L * N;
        for (int c = 0; c < 2; c++) {
            List<Long> taken = supersteps.get(c);
            assertThat(taken).as("chunk %d's supersteps", c).hasSizeGreaterThan(2).startsWith(0L);
            for (int i = 1; i < taken.size(); i++) {
                long from = taken.get(i - 1);
                long at = taken.get(i);
                long through = coded.get(c).subMap(from, false, at, true).values().stream().mapToLong(Integer::longValue).sum();
                long before = through - coded.get(c).get(at);
                assertThat(through).as("chunk %d, superstep at %d: coded bytes since %d", c, at, from).isGreaterThanOrEqualTo((long) (RATIO * superstepBytes));
                assertThat(before).as("chunk %d: no superstep was due before step %d", c, at).isLessThan((long) (RATIO * superstepBytes));
            }
        }
        assertThat(supersteps.get(0)).as("the chunks take supersteps at steps of their own").isNotEqualTo(supersteps.get(1));
        assertThat(supersteps.get(1).size()).isLessThan(supersteps.get(0).size());
        StepComplete last = markers.get(markers.size() - 1);
        assertThat(last.getStep()).isEqualTo(300);
        // where a restore of the last step seeks: not later than either chunk's newest superstep; restorable from the newer
        // of the chunks' oldest retained supersteps (2 kept)
        assertThat(last.getBaseTimestamp()).isNotNull();
        long expectedFrom = Math.max(supersteps.get(0).get(supersteps.get(0).size() - 2), supersteps.get(1).get(supersteps.get(1).size() - 2));
        assertThat(last.getRestorableFrom()).isEqualTo(expectedFrom);
    }
}
