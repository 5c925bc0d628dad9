package io.lccheckpoint.encoder;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.CheckpointPosition;
import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.ChunkStateHandover;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.DeadLetter;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RemainingStages;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.TensorInfo;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A task that lost its local working states rebuilds them from its books and the logs, and the chain goes on byte for
 * byte as if nothing had happened (issue #12): two encoders are fed the same records, one keeps its local store, the
 * other loses it after every step; their checkpoint topics, dead letters and working states must be the same. Chains
 * with supersteps, duplicates, refused and poisoned records, a record refused for a topic missing at the time, and split
 * switches both ways. The logs are the records each encoder read and wrote (the real-broker runs are FaultsIT's).
 */
class EncoderRebuildTest {
    private static final String JOB = "job-r";
    private static final int N = 700;
    private static final String RAW = "lcckpt." + JOB + ".raw-deltas";
    private static final String CHECKPOINTS = "lcckpt." + JOB + ".checkpoints";

    private final CodecOptions options = new EncoderSettings(Map.of()).codecOptions();
    private final SplittableRandom random = new SplittableRandom(12);
    private Encoder steady;
    private Encoder forgetful;
    private volatile boolean checkpointTopicMissing;

    /** One encoder under a test driver, with the logs it read and wrote. */
    private final class Encoder implements AutoCloseable {
        final TopologyTestDriver driver;
        final TestInputTopic<byte[], byte[]> raw;
        final TestOutputTopic<byte[], byte[]> checkpoints;
        final TestOutputTopic<byte[], byte[]> deadLetters;
        final TestOutputTopic<byte[], byte[]> handovers;
        final List<ConsumerRecord<byte[], byte[]>> rawLog = new ArrayList<>();
        final List<ConsumerRecord<byte[], byte[]>> checkpointLog = new ArrayList<>();
        final List<String> deadLetterReasons = new ArrayList<>();
        int rebuildsSeen;
        int positionsRead;

        /** {@code steps}; {@code bytes-often}: supersteps every few steps, at steps of each chunk's own; {@code bytes-rarely}: books with ũ every 4 steps between supersteps. */
        Encoder(String policy) {
            EncoderSettings settings = new EncoderSettings(Map.of(EncoderSettings.SUPERSTEP_INTERVAL_CONFIG, 4, EncoderSettings.SUPERSTEP_RETAIN_CONFIG, 2,
                    EncoderSettings.SUPERSTEP_POLICY_CONFIG, policy.startsWith("bytes") ? "bytes" : policy,
                    EncoderSettings.SUPERSTEP_BYTES_RATIO_CONFIG, policy.equals("bytes-rarely") ? 5.0 : 0.3));
            Properties properties = EncoderApp.streamsConfig(settings);
            properties.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
            try {
                properties.put(StreamsConfig.STATE_DIR_CONFIG, java.nio.file.Files.createTempDirectory("rebuild-test").toString());
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            ChainRebuilder.Logs logs = new ChainRebuilder.Logs() {
                @Override
                public void checkpoints(String topic, long fromTimestamp, Predicate<ConsumerRecord<byte[], byte[]>> each) {
                    // as offsetsForTimes: from the first record stamped at or after the time
                    int first = 0;
                    while (first < checkpointLog.size() && checkpointLog.get(first).timestamp() < fromTimestamp) {
                        first++;
                    }
                    for (ConsumerRecord<byte[], byte[]> record : checkpointLog.subList(first, checkpointLog.size())) {
                        if (!each.test(record)) {
                            return;
                        }
                    }
                }

                @Override
                public void raw(TopicPartition partition, long fromOffset, long toOffset, Predicate<ConsumerRecord<byte[], byte[]>> each) {
                    rebuildsSeen++;
                    for (ConsumerRecord<byte[], byte[]> record : rawLog) {
                        if (record.offset() >= fromOffset && record.offset() < toOffset && !each.test(record)) {
                            return;
                        }
                    }
                }

                @Override
                public ChainRebuilder.PositionReader positionReader() {
                    return new ChainRebuilder.PositionReader() {
                        @Override
                        public ConsumerRecord<byte[], byte[]> read(TopicPartition partition, long offset) {
                            positionsRead++;
                            assertThat(partition).isEqualTo(new TopicPartition(CHECKPOINTS, 0));
                            return offset < checkpointLog.size() ? checkpointLog.get((int) offset) : null;
                        }

                        @Override
                        public void close() {
                        }
                    };
                }
            };
            TopicCheck topicCheck = topic -> !(checkpointTopicMissing && topic.equals(CHECKPOINTS));
            driver = new TopologyTestDriver(EncoderTopology.build(settings, topicCheck, new TaskHeartbeats(), logs, RawTrimmer.NONE), properties);
            raw = driver.createInputTopic(RAW, new ByteArraySerializer(), new ByteArraySerializer());
            checkpoints = driver.createOutputTopic(CHECKPOINTS, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            deadLetters = driver.createOutputTopic("lcckpt." + JOB + ".dead-letters", new ByteArrayDeserializer(), new ByteArrayDeserializer());
            handovers = driver.createOutputTopic("lcckpt." + JOB + ".handover", new ByteArrayDeserializer(), new ByteArrayDeserializer());
        }

        void pipe(byte[] key, byte[] value) {
            rawLog.add(consumerRecord(RAW, rawLog.size(), 0, key, value));
            raw.pipeInput(key, value);
            for (TestRecord<byte[], byte[]> record : checkpoints.readRecordsToList()) {
                checkpointLog.add(consumerRecord(CHECKPOINTS, checkpointLog.size(), record.timestamp(), record.key(), record.value()));
            }
            deadLetters.readRecordsToList().forEach(record -> deadLetterReasons.add(((DeadLetter) SingleObjectSerde.decode(record.value())).getReason()));
        }

        /** As a trainer does by default: its initial state, as the superstep the encoder would write, to the checkpoint topic. */
        CheckpointPosition writeInitial(RawDeltaChunk chunk, float[] values) {
            long offset = checkpointLog.size();
            byte[] key = SingleObjectSerde.encode(new CheckpointKey(JOB, RecordKind.SUPERSTEP_CHUNK, chunk.getTensor(), chunk.getChunk(), chunk.getGeneration(),
                    chunk.getStep()));
            ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(values);
            byte[] value = SingleObjectSerde.encode(new io.lccheckpoint.schema.SuperstepChunk(JOB, chunk.getGeneration(), chunk.getStep(), chunk.getTensor(),
                    chunk.getChunk(), DType.FLOAT32, bytes, io.lccheckpoint.codec.Checksums.xxh64(values)));
            checkpointLog.add(consumerRecord(CHECKPOINTS, offset, 0, key, value));
            return new CheckpointPosition(0, offset);
        }

        /** As a trainer coding its own chunks does: the coded chunk straight to the checkpoint topic; its position. */
        CheckpointPosition writeCoded(RawDeltaChunk chunk, byte[] codec, long previousStep) {
            long offset = checkpointLog.size();
            byte[] key = SingleObjectSerde.encode(new CheckpointKey(JOB, RecordKind.ENCODED_CHUNK, chunk.getTensor(), chunk.getChunk(), chunk.getGeneration(),
                    chunk.getStep()));
            byte[] value = SingleObjectSerde.encode(new EncodedChunkRecord(JOB, chunk.getGeneration(), chunk.getStep(), chunk.getTensor(), chunk.getChunk(),
                    ByteBuffer.wrap(codec), previousStep));
            checkpointLog.add(consumerRecord(CHECKPOINTS, offset, 0, key, value));
            return new CheckpointPosition(0, offset);
        }

        void forgetWorkingStates() {
            KeyValueStore<String, byte[]> work = driver.getKeyValueStore(EncodeProcessor.WORK_STORE);
            List<String> keys = new ArrayList<>();
            try (var all = work.all()) {
                all.forEachRemaining(entry -> keys.add(entry.key));
            }
            keys.stream().filter(key -> key.startsWith(JOB)).forEach(work::delete);
        }

        byte[] working(int chunk) {
            KeyValueStore<String, byte[]> work = driver.getKeyValueStore(EncodeProcessor.WORK_STORE);
            return work.get(JOB + '\u0000' + "w" + '\u0000' + chunk);
        }

        @Override
        public void close() {
            driver.close();
        }
    }

    private void start(String policy) {
        steady = new Encoder(policy);
        forgetful = new Encoder(policy);
    }

    @AfterEach
    void stop() {
        if (steady != null) {
            steady.close();
            forgetful.close();
        }
    }

    @ParameterizedTest(name = "superstep policy {0}")
    @ValueSource(strings = {"steps", "bytes-often", "bytes-rarely"})
    void aStorageSplitChainRebuiltAfterEveryStepIsTheSameChain(String policy) {
        start(policy);
        manifestAndInitial();
        forgetful.forgetWorkingStates();
        for (long step = 1; step <= 13; step++) {
            for (int c = 0; c < 2; c++) {
                float[] delta = delta();
                if (step == 5 && c == 1) {
                    delta[3] = Float.NaN;                            // a poisoned step: chunk 1 codes no more
                }
                send(raw(step, c, delta));
                if (step == 3 && c == 0) {
                    send(raw(step, c, delta));                      // a duplicate
                    send(raw(step + 1, c, new float[N - 1]));       // a wrong shape
                }
                if (step == 6 && c == 0) {
                    // refused because the checkpoint topic was missing at the time; the trainer sends the step again
                    checkpointTopicMissing = true;
                    send(raw(step + 1, c, delta()));
                    checkpointTopicMissing = false;
                }
            }
            assertSameSoFar("step " + step);
            forgetful.forgetWorkingStates();
        }
        assertThat(forgetful.deadLetterReasons).anyMatch(reason -> reason.contains("duplicate step")).anyMatch(reason -> reason.contains("shape mismatch"))
                .anyMatch(reason -> reason.contains("poisoned")).anyMatch(reason -> reason.contains("has no topic " + CHECKPOINTS));
        assertThat(forgetful.rebuildsSeen).isEqualTo(13);
        assertThat(steady.rebuildsSeen).isZero();
    }

    @ParameterizedTest(name = "superstep policy {0}, trainer-coded chunks {1}")
    @CsvSource({"steps,inline", "bytes-often,inline", "bytes-rarely,inline", "steps,on the checkpoint topic", "bytes-often,on the checkpoint topic",
            "bytes-rarely,on the checkpoint topic"})
    void aChainThatSwitchesSplitsBothWaysRebuiltAfterEveryStepIsTheSameChain(String policy, String coded) {
        boolean direct = !coded.equals("inline");
        start(policy);
        manifestAndInitial(direct);
        forgetful.forgetWorkingStates();
        ChunkState[] trainer = new ChunkState[2];
        for (long step = 1; step <= 14; step++) {
            for (int c = 0; c < 2; c++) {
                float[] delta = delta();
                if (step == 2) {
                    // storage → trainer: the encoder codes this step and hands the chunk's state over
                    RawDeltaChunk handover = raw(step, c, delta);
                    handover.setHandover(true);
                    send(handover);
                } else if (step >= 3 && step <= 6) {
                    if (trainer[c] == null) {
                        trainer[c] = handedOver(c);
                    }
                    byte[] record = new ChunkEncoder(options).encode(delta, trainer[c]).record();
                    if (direct) {
                        sendNotice(step, c, record);
                    } else {
                        send(coded(step, c, record));
                    }
                } else if (step == 7) {
                    // trainer → storage: the trainer's residual folded into the raw values
                    float[] folded = new float[N];
                    for (int i = 0; i < N; i++) {
                        folded[i] = delta[i] + trainer[c].residualFloat()[i];
                    }
                    RawDeltaChunk back = raw(step, c, folded);
                    back.setResidualFolded(true);
                    send(back);
                } else {
                    send(raw(step, c, delta));
                }
            }
            assertSameSoFar("step " + step);
            forgetful.forgetWorkingStates();
        }
        assertThat(forgetful.rebuildsSeen).isEqualTo(14);
        // a rebuild after a trainer-coded step reads its coded chunk again, from where the trainer wrote it
        assertThat(steady.positionsRead).isEqualTo(direct ? 2 + 8 : 0);
        if (direct) {
            assertThat(forgetful.positionsRead).isGreaterThan(steady.positionsRead);
        }
    }

    /** A trainer-coded step whose coded chunk the trainer wrote to the checkpoint topic itself: the notice points at it. */
    private void sendNotice(long step, int chunk, byte[] codec) {
        RawDeltaChunk notice = coded(step, chunk, new byte[0]);
        CheckpointPosition at = steady.writeCoded(notice, codec, step - 1);
        assertThat(forgetful.writeCoded(notice, codec, step - 1)).isEqualTo(at);
        notice.setStoredAt(at);
        send(notice);
    }

    @org.junit.jupiter.api.Test
    void anInitialStateOnTheCheckpointTopicThatFailsItsChecksumIsRefusedAndTombstoned() {
        start("steps");
        manifestAndInitial(true);
        // a new generation's initial state whose values were damaged after the checksum was taken
        RawDeltaChunk notice = chunk(0, 0, new float[0], true);
        notice.setGeneration(2L);
        float[] values = new float[N];
        CheckpointPosition at = steady.writeInitial(notice, values);
        forgetful.writeInitial(notice, values);
        ConsumerRecord<byte[], byte[]> written = steady.checkpointLog.get((int) (long) at.getOffset());
        io.lccheckpoint.schema.SuperstepChunk damaged = (io.lccheckpoint.schema.SuperstepChunk) SingleObjectSerde.decode(written.value());
        damaged.setChecksum(damaged.getChecksum() + 1);
        steady.checkpointLog.set((int) (long) at.getOffset(), consumerRecord(CHECKPOINTS, at.getOffset(), 0, written.key(), SingleObjectSerde.encode(damaged)));
        notice.setStoredAt(at);
        int before = steady.checkpointLog.size();
        send(notice);
        assertThat(steady.deadLetterReasons).singleElement().asString().contains("fails its checksum");
        assertThat(steady.checkpointLog).hasSize(before + 1);
        assertThat(steady.checkpointLog.get(before).value()).isNull();
        assertThat(SingleObjectSerde.decode(steady.checkpointLog.get(before).key())).isEqualTo(new CheckpointKey(JOB, RecordKind.SUPERSTEP_CHUNK, "w", 0, 2L, 0L));
        // generation 1 goes on
        assertThat(ChunkRecordState.deserialize(steady.working(0)).generation).isEqualTo(1L);
    }

    @org.junit.jupiter.api.Test
    void aNoticeThatDoesNotPointAtItsChunkIsRefusedAndTheStrayRecordTombstoned() {
        start("steps");
        manifestAndInitial();
        ChunkState[] trainer = new ChunkState[2];
        for (int c = 0; c < 2; c++) {
            RawDeltaChunk handover = raw(1, c, delta());
            handover.setHandover(true);
            send(handover);
        }
        for (int c = 0; c < 2; c++) {
            trainer[c] = handedOver(c);
        }
        // chunk 0: a good notice; chunk 1: the trainer wrote its chunk, but the notice points at chunk 0's record
        sendNotice(2, 0, new ChunkEncoder(options).encode(delta(), trainer[0]).record());
        RawDeltaChunk stray = coded(2, 1, new byte[0]);
        CheckpointPosition chunk0 = new CheckpointPosition(0, (long) steady.checkpointLog.size() - 1);
        steady.writeCoded(stray, new ChunkEncoder(options).encode(delta(), trainer[1]).record(), 1);
        forgetful.writeCoded(stray, new byte[0], 1);
        stray.setStoredAt(chunk0);
        int before = steady.checkpointLog.size();
        send(stray);
        assertThat(steady.deadLetterReasons).singleElement().asString().contains("instead of this chunk's coded step");
        ConsumerRecord<byte[], byte[]> tombstone = steady.checkpointLog.get(before);
        assertThat(tombstone.value()).isNull();
        assertThat(SingleObjectSerde.decode(tombstone.key())).isEqualTo(new CheckpointKey(JOB, RecordKind.ENCODED_CHUNK, "w", 1, 1L, 2L));
        // a duplicate notice of a step of the chain is refused, and no tombstone removes the chain's record
        before = steady.checkpointLog.size();
        RawDeltaChunk duplicate = coded(2, 0, new byte[0]);
        duplicate.setStoredAt(chunk0);
        send(duplicate);
        assertThat(steady.deadLetterReasons).last().asString().contains("duplicate step");
        assertThat(steady.checkpointLog.subList(before, steady.checkpointLog.size())).noneMatch(record -> record.value() == null);
    }

    private void assertSameSoFar(String when) {
        assertThat(forgetful.checkpointLog).as(when).hasSameSizeAs(steady.checkpointLog);
        for (int i = 0; i < steady.checkpointLog.size(); i++) {
            assertThat(forgetful.checkpointLog.get(i).key()).as(when + ", checkpoint record " + i).isEqualTo(steady.checkpointLog.get(i).key());
            assertThat(markerWithoutClock(forgetful.checkpointLog.get(i).value())).as(when + ", checkpoint record " + i)
                    .isEqualTo(markerWithoutClock(steady.checkpointLog.get(i).value()));
        }
        assertThat(forgetful.deadLetterReasons).as(when).isEqualTo(steady.deadLetterReasons);
        for (int c = 0; c < 2; c++) {
            assertThat(java.util.Arrays.equals(withoutClock(forgetful.working(c)), withoutClock(steady.working(c))))
                    .as(when + ", chunk " + c + "'s working state").isTrue();
        }
    }

    /** A working state, with the times its supersteps were written (which differ between two encoders) left out. */
    private static byte[] withoutClock(byte[] working) {
        ChunkRecordState state = ChunkRecordState.deserialize(working);
        state.anchorStamp = 0;
        state.supersteps.replaceAll(superstep -> new ChunkRecordState.Superstep(superstep.step(), 0));
        return state.serialize(ChunkRecordState.Form.WORK);
    }

    /** A marker carries the times its step and its supersteps started, which differ between two encoders: compared without them. */
    private static byte[] markerWithoutClock(byte[] value) {
        if (value != null && SingleObjectSerde.decode(value) instanceof io.lccheckpoint.schema.StepComplete marker) {
            marker.setStartTimestamp(-1L);
            marker.setBaseTimestamp(marker.getBaseTimestamp() == null ? null : -1L);
            return SingleObjectSerde.encode(marker);
        }
        return value;
    }

    private final List<ChunkStateHandover> handedOver = new ArrayList<>();

    private ChunkState handedOver(int chunk) {
        steady.handovers.readRecordsToList().forEach(record -> handedOver.add((ChunkStateHandover) SingleObjectSerde.decode(record.value())));
        for (ChunkStateHandover handover : handedOver) {
            if (handover.getChunk() == chunk) {
                float[] approx = new float[N];
                float[] residual = new float[N];
                handover.getApprox().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(approx);
                handover.getResidual().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(residual);
                return ChunkState.ofFloat32(approx, residual);
            }
        }
        throw new AssertionError("no handover for chunk " + chunk);
    }

    private void manifestAndInitial() {
        manifestAndInitial(false);
    }

    /** The manifest of step 0 and the initial states: inline, or written to the checkpoint topic with notices ({@code direct}). */
    private void manifestAndInitial(boolean direct) {
        StepManifest manifest = new StepManifest(JOB, 1L, 0L, null, List.of(new TensorInfo("w", List.of(2L * N), DType.FLOAT32, N, 2, null)), null);
        byte[] key = SingleObjectSerde.encode(new ChunkKey(JOB, "", -1));
        steady.pipe(key, SingleObjectSerde.encode(manifest));
        forgetful.pipe(key, SingleObjectSerde.encode(manifest));
        for (int c = 0; c < 2; c++) {
            float[] initial = new float[N];
            for (int i = 0; i < N; i++) {
                initial[i] = (float) random.nextGaussian();
            }
            if (direct) {
                RawDeltaChunk notice = chunk(0, c, new float[0], true);
                CheckpointPosition at = steady.writeInitial(notice, initial);
                assertThat(forgetful.writeInitial(notice, initial)).isEqualTo(at);
                notice.setStoredAt(at);
                send(notice);
            } else {
                send(chunk(0, c, initial, true));
            }
        }
    }

    private float[] delta() {
        float[] delta = new float[N];
        for (int i = 0; i < N; i++) {
            delta[i] = (float) (random.nextGaussian() * 1e-3 * (i % 7 == 0 ? 10 : 1));
        }
        return delta;
    }

    private RawDeltaChunk raw(long step, int chunk, float[] values) {
        return chunk(step, chunk, values, false);
    }

    private RawDeltaChunk coded(long step, int chunk, byte[] record) {
        RawDeltaChunk coded = chunk(step, chunk, new float[0], false);
        coded.setValues(ByteBuffer.wrap(record));
        coded.setRemaining(RemainingStages.NONE);
        coded.setCodecOptions(options.describe());
        return coded;
    }

    private static RawDeltaChunk chunk(long step, int chunk, float[] values, boolean initial) {
        ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        return new RawDeltaChunk(JOB, 1L, step, "w", chunk, 2, 2, DType.FLOAT32, initial, bytes, RemainingStages.ALL, null, false, false,
                initial ? null : step - 1, null, null);
    }

    private void send(RawDeltaChunk chunk) {
        byte[] key = SingleObjectSerde.encode(new ChunkKey(JOB, chunk.getTensor(), chunk.getChunk()));
        byte[] value = SingleObjectSerde.encode(chunk);
        steady.pipe(key, value);
        forgetful.pipe(key, value);
    }

    private static ConsumerRecord<byte[], byte[]> consumerRecord(String topic, long offset, long timestamp, byte[] key, byte[] value) {
        return new ConsumerRecord<>(topic, 0, offset, timestamp, TimestampType.CREATE_TIME, key.length, value == null ? -1 : value.length, key, value,
                new RecordHeaders(), Optional.empty());
    }
}
