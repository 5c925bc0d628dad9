package io.lccheckpoint.producer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.Checksums;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.EntropyMode;
import io.lccheckpoint.codec.SixteenBitFloats;
import io.lccheckpoint.codec.ValueType;
import io.lccheckpoint.producer.CheckpointProducer.StepReceipt;
import io.lccheckpoint.producer.SplitPlanner.Split;
import io.lccheckpoint.producer.internals.KafkaClients;
import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.ChunkStateHandover;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RemainingStages;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.SuperstepChunk;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import io.lccheckpoint.schema.kafka.Topics;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.management.ObjectName;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.MockTime;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The producer's behaviour without a broker: a {@link MockProducer} records what each transaction held, a
 * {@link MockConsumer} plays the encoder's handover, a {@link MockTime} is the clock. The same producer against a real
 * broker is tested by the cli module's integration tests.
 */
class CheckpointProducerTest {
    private static final String JOB = "j";
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);
    private static final int CHUNK = 64;
    private static final int VALUES = 100; // two chunks: 64 + 36
    private static final CodecOptions OPTIONS = new CodecOptions(2, EntropyMode.HUFFMAN);

    private final MockTime time = new MockTime(0, 1_700_000_000_000L, 0);
    private final Clients clients = new Clients();
    private CheckpointProducer producer;

    @AfterEach
    void close() {
        if (producer != null) {
            clients.release.countDown();
            producer.close();
        }
    }

    @Test
    void eachStepIsOneTransactionHoldingItsManifestAndEveryChunk() {
        producer = open("storage", Map.of());
        float[] w0 = values(0);
        float[] w1 = values(1);
        StepReceipt first = producer.publish(0, Map.of("w", w0)).join();
        StepReceipt second = producer.publish(1, Map.of("w", w1)).join();

        assertThat(clients.producer.commitCount()).isEqualTo(2);
        assertThat(first.chunks()).isEqualTo(2);
        assertThat(second.chunks()).isEqualTo(2);
        List<ProducerRecord<SpecificRecord, SpecificRecord>> sent = clients.producer.history();
        // the initial state: written once, as the supersteps the encoder would write, with a notice each on the raw topic
        List<SuperstepChunk> supersteps = values(sent, SuperstepChunk.class);
        assertThat(supersteps).extracting(SuperstepChunk::getChunk).containsExactly(0, 1);
        assertThat(supersteps.get(0).getChecksum()).isEqualTo(Checksums.xxh64(Arrays.copyOfRange(w0, 0, CHUNK)));
        List<RawDeltaChunk> chunks = values(sent, RawDeltaChunk.class);
        assertThat(chunks).hasSize(4);
        assertThat(chunks.subList(0, 2)).allSatisfy(notice -> {
            assertThat(notice.getInitial()).isTrue();
            assertThat(notice.getValues().remaining()).isZero();
            assertThat(notice.getStoredAt()).isNotNull();
        });
        // step 1: the raw delta to the published state, following step 0
        RawDeltaChunk delta = chunks.get(3);
        assertThat(delta.getStep()).isEqualTo(1);
        assertThat(delta.getPreviousStep()).isEqualTo(0L);
        assertThat(floats(delta.getValues())).containsExactly(delta(w1, w0, CHUNK, VALUES));
        assertThat(values(sent, StepManifest.class)).extracting(StepManifest::getStep).containsExactly(0L, 1L);
        assertThat(second.bytes()).isEqualTo(4L * VALUES);
        assertThat(producer.bytesSent()).isEqualTo(8L * VALUES);
    }

    @Test
    void aNoticePointsAtItsRecordOnTheCheckpointPartitionTheEncoderWouldPick() {
        producer = open("storage", Map.of());
        producer.publish(0, Map.of("w", values(0))).join();
        List<ProducerRecord<SpecificRecord, SpecificRecord>> sent = clients.producer.history();
        List<RawDeltaChunk> notices = values(sent, RawDeltaChunk.class);
        for (ProducerRecord<SpecificRecord, SpecificRecord> record : sent) {
            if (record.value() instanceof SuperstepChunk superstep) {
                int partition = Utils.toPositive(Utils.murmur2(SingleObjectSerde.encode(record.key()))) % 4;
                assertThat(record.partition()).isEqualTo(partition);
                assertThat(record.topic()).isEqualTo(TOPICS.checkpoints(JOB));
                assertThat(notices.get(superstep.getChunk()).getStoredAt().getPartition()).isEqualTo(partition);
            }
        }
    }

    @Test
    void theTrainerSplitCodesWithTheCodecAndWritesEachChunkOnce() {
        producer = open("trainer", Map.of());
        float[] w0 = values(0);
        float[] w1 = values(1);
        float[] w2 = values(2);
        producer.publish(0, Map.of("w", w0)).join();
        producer.publish(1, Map.of("w", w1)).join();
        producer.publish(2, Map.of("w", w2)).join();

        // the reference: the codec run directly on each chunk's chain
        ChunkEncoder encoder = new ChunkEncoder(OPTIONS);
        ChunkState state = ChunkState.float32(Arrays.copyOfRange(w0, 0, CHUNK));
        byte[] step1 = encoder.encode(delta(w1, w0, 0, CHUNK), state).record();
        byte[] step2 = encoder.encode(delta(w2, w1, 0, CHUNK), state).record();

        List<ProducerRecord<SpecificRecord, SpecificRecord>> sent = clients.producer.history();
        List<EncodedChunkRecord> coded = values(sent, EncodedChunkRecord.class).stream().filter(r -> r.getChunk() == 0).toList();
        assertThat(coded).extracting(EncodedChunkRecord::getStep).containsExactly(1L, 2L);
        assertThat(bytes(coded.get(0).getCodec())).isEqualTo(step1);
        assertThat(bytes(coded.get(1).getCodec())).isEqualTo(step2);
        // on the raw topic: notices only, saying the chunk is coded and where it is
        List<RawDeltaChunk> notices = values(sent, RawDeltaChunk.class).stream().filter(r -> !r.getInitial()).toList();
        assertThat(notices).allSatisfy(notice -> {
            assertThat(notice.getValues().remaining()).isZero();
            assertThat(notice.getRemaining()).isEqualTo(RemainingStages.NONE);
            assertThat(notice.getCodecOptions()).isEqualTo(OPTIONS.describe());
            assertThat(notice.getStoredAt()).isNotNull();
        });
        assertThat(producer.currentSplit()).isEqualTo(Split.TRAINER);
        assertThat(producer.bytesSent()).isLessThan(8L * VALUES + 4L * VALUES);
    }

    @Test
    void switchingBackToStorageFoldsTheResidualIntoTheNextDelta() {
        producer = open("trainer", Map.of());
        float[] w0 = values(0);
        float[] w1 = values(1);
        float[] w2 = values(2);
        producer.publish(0, Map.of("w", w0)).join();
        producer.publish(1, Map.of("w", w1)).join();
        producer.requestSplit(Split.STORAGE);
        producer.publish(2, Map.of("w", w2)).join();

        ChunkState state = ChunkState.float32(Arrays.copyOfRange(w0, 0, CHUNK));
        new ChunkEncoder(OPTIONS).encode(delta(w1, w0, 0, CHUNK), state);
        float[] expected = delta(w2, w1, 0, CHUNK);
        for (int i = 0; i < CHUNK; i++) {
            expected[i] += state.residualFloat()[i];
        }
        RawDeltaChunk folded = values(clients.producer.history(), RawDeltaChunk.class).stream()
                .filter(r -> r.getStep() == 2 && r.getChunk() == 0).findFirst().orElseThrow();
        assertThat(folded.getResidualFolded()).isTrue();
        assertThat(floats(folded.getValues())).containsExactly(expected);
        assertThat(producer.splitSwitches()).isEqualTo(1);
        assertThat(producer.currentSplit()).isEqualTo(Split.STORAGE);
    }

    @Test
    void switchingToTheTrainerCodesFromTheStateTheEncoderHandsOver() {
        producer = open("storage", Map.of());
        float[] w0 = values(0);
        float[] w1 = values(1);
        float[] w2 = values(2);
        float[] approx = Arrays.copyOfRange(w1, 0, CHUNK);
        float[] residual = new float[CHUNK];
        Arrays.fill(residual, 1e-4f);
        clients.handover = (generation, step) -> List.of(
                handover(generation, step, 0, approx, residual),
                handover(generation, step, 1, Arrays.copyOfRange(w1, CHUNK, VALUES), new float[VALUES - CHUNK]));
        producer.publish(0, Map.of("w", w0)).join();
        producer.requestSplit(Split.TRAINER);
        // step 1 goes raw and asks for the handover; step 2 is coded here from the handed-over state
        RawDeltaChunk asking = chunkOf(producer.publish(1, Map.of("w", w1)).join(), 1);
        producer.publish(2, Map.of("w", w2)).join();

        assertThat(asking.getHandover()).isTrue();
        byte[] expected = new ChunkEncoder(OPTIONS).encode(delta(w2, w1, 0, CHUNK), ChunkState.ofFloat32(approx, residual)).record();
        EncodedChunkRecord coded = values(clients.producer.history(), EncodedChunkRecord.class).stream()
                .filter(r -> r.getStep() == 2 && r.getChunk() == 0).findFirst().orElseThrow();
        assertThat(bytes(coded.getCodec())).isEqualTo(expected);
        assertThat(producer.splitSwitches()).isEqualTo(1);
    }

    @Test
    void aHandedOverStateThatFailsItsChecksumPoisonsTheProducerNamingTheChunk() {
        producer = open("storage", Map.of());
        float[] w1 = values(1);
        clients.handover = (generation, step) -> {
            ChunkStateHandover bad = handover(generation, step, 0, Arrays.copyOfRange(w1, 0, CHUNK), new float[CHUNK]);
            bad.setChecksum(bad.getChecksum() + 1);
            return List.of(bad);
        };
        producer.publish(0, Map.of("w", values(0))).join();
        producer.requestSplit(Split.TRAINER);
        // the step that asked for the handover committed; the handover after it failed, which poisons the producer
        producer.publish(1, Map.of("w", w1)).join();
        producer.drain();
        assertThatThrownBy(() -> producer.publish(2, Map.of("w", values(2))))
                .isInstanceOfSatisfying(ProducerPoisonedException.class, e -> assertThat(e.lastCommittedStep()).isEqualTo(1))
                .hasMessageContaining("tensor w, chunk 0: handed-over state fails its checksum");
    }

    @Test
    void aFailedCommitFailsTheStepAndPoisonsTheProducerUntilItResumes() {
        producer = open("storage", Map.of());
        float[] w0 = values(0);
        producer.publish(0, Map.of("w", w0)).join();
        clients.producer.commitTransactionException = new KafkaException("broker said no");
        CompletableFuture<StepReceipt> failed = producer.publish(1, Map.of("w", values(1)));
        producer.drain();

        Throwable cause = catchThrowable(failed::join).getCause();
        assertThat(cause).isInstanceOf(StepFailedException.class).hasMessageContaining("step 1 was not committed: broker said no");
        assertThat(((StepFailedException) cause).step()).isEqualTo(1);
        assertThat(((StepFailedException) cause).fenced()).isFalse();
        assertThat(clients.producer.transactionAborted()).isTrue();
        assertThatThrownBy(() -> producer.publish(2, Map.of("w", values(2))))
                .isInstanceOfSatisfying(ProducerPoisonedException.class, e -> assertThat(e.lastCommittedStep()).isZero())
                .hasMessageContaining("broker said no").hasMessageContaining("resume");

        // a new generation from the last committed step, and the chain goes on
        clients.producer.commitTransactionException = null;
        long crashed = producer.generation();
        time.sleep(5);
        producer.resume(0, Map.of("w", w0));
        producer.publish(1, Map.of("w", values(1))).join();
        assertThat(producer.generation()).isGreaterThan(crashed);
        StepManifest resumed = values(clients.producer.history(), StepManifest.class).stream()
                .filter(m -> m.getGeneration() == producer.generation() && m.getStep() == 0).findFirst().orElseThrow();
        assertThat(resumed.getResumedFrom()).isEqualTo(0L);
    }

    @Test
    void aFencedProducerSaysAnotherOneTookTheJobOver() {
        producer = open("storage", Map.of());
        producer.publish(0, Map.of("w", values(0))).join();
        clients.producer.fenceProducer();
        Throwable cause = catchThrowable(() -> producer.publish(1, Map.of("w", values(1))).join()).getCause();
        assertThat(cause).isInstanceOfSatisfying(StepFailedException.class, e -> assertThat(e.fenced()).isTrue());
        assertThatThrownBy(() -> producer.publish(2, Map.of("w", values(2))))
                .isInstanceOfSatisfying(ProducerPoisonedException.class, e -> assertThat(e.fenced()).isTrue())
                .hasMessageContaining("took the job over");
    }

    @Test
    void publishWaitsAtMostMaxBlockMsForBufferSpaceAndThenTakesNothing() throws Exception {
        clients.holdCommits = true;
        // 256 float32 values are 1 KiB: the whole buffer, so one step in flight fills it
        producer = open("storage", Map.of("lcckpt.buffer.memory", 1024L, "max.block.ms", 100L), 256);
        CompletableFuture<StepReceipt> first = producer.publish(0, Map.of("w", new float[256]));
        assertThat(clients.committing.await(30, TimeUnit.SECONDS)).isTrue();
        assertThatThrownBy(() -> producer.publish(1, Map.of("w", new float[256])))
                .isInstanceOfSatisfying(PublishTimeoutException.class, e -> assertThat(e.step()).isEqualTo(1))
                .hasMessageContaining("max.block.ms = 100 ms")
                // what the sender is stuck on, for the one who reads the error
                .hasMessageMatching("(?s).*the sender is committing a transaction of 1 steps \\(0-0\\) for \\d+\\.\\d s.*");

        clients.release.countDown();
        first.join();
        // the refused step was not taken: publishing it again is not a duplicate
        assertThat(producer.publish(1, Map.of("w", new float[256])).join().step()).isEqualTo(1);
    }

    @Test
    void badValuesAreRefusedOnTheTrainersThreadNamingJobStepAndTensor() {
        producer = open("storage", Map.of());
        producer.publish(0, Map.of("w", values(0))).join();
        assertThatThrownBy(() -> producer.publish(1, Map.of("w", new float[3])))
                .hasMessageContaining("job j, step 1, tensor w: registered with 100 values");
        assertThatThrownBy(() -> producer.publish(1, Map.of("w", new double[VALUES])))
                .hasMessageContaining("job j, step 1, tensor w: registered as FLOAT32 (float[]) but got double[]");
        assertThatThrownBy(() -> producer.publish(0, Map.of("w", values(0)))).hasMessageContaining("duplicate step");
        assertThat(clients.producer.commitCount()).isEqualTo(1);
    }

    @Test
    void integerAndBoolTensorsArePublishedExactlyAsTheirWidthsIntegers() {
        producer = open("storage", Map.of(), 0);
        producer.registerTensor("count", new long[] {1}, DType.INT64);
        producer.registerTensor("mask", new long[] {4}, DType.BOOL);
        producer.registerTensor("ids", new long[] {3}, DType.UINT8);
        assertThatThrownBy(() -> producer.registerTensor("other", new long[] {1}, DType.INT32, TensorCoding.of(OPTIONS)))
                .hasMessageContaining("job j, tensor other: a INT32 tensor is stored exactly; codec options do not apply");
        producer.publish(0, Map.of("count", new long[] {7}, "mask", new boolean[] {true, false, true, true}, "ids", new byte[] {1, (byte) 200, 3})).join();
        producer.publish(1, Map.of("count", new long[] {8}, "mask", new byte[] {0, 0, 1, 1}, "ids", new byte[] {1, (byte) 255, 0})).join();
        List<RawDeltaChunk> sent = values(clients.producer.history(), RawDeltaChunk.class);
        // the initial state in each dtype's width, then the deltas modulo 2^(8 × width): 1 − 0 → 0xFF for a bool
        // (the initial state goes to the checkpoint topic as the superstep the encoder would write, with its XXH64)
        List<SuperstepChunk> initial = values(clients.producer.history(), SuperstepChunk.class);
        assertThat(initial).extracting(r -> r.getTensor() + "=" + java.util.HexFormat.of().formatHex(bytes(r.getValues())))
                .containsExactly("count=0700000000000000", "mask=01000101", "ids=01c803");
        assertThat(initial.get(2).getChecksum()).isEqualTo(ChunkState.exact(ValueType.UINT8, new long[] {1, 200, 3}).approxChecksum());
        assertThat(sent).filteredOn(r -> !r.getInitial()).extracting(r -> r.getTensor() + "=" + java.util.HexFormat.of().formatHex(bytes(r.getValues())))
                .containsExactly("count=0100000000000000", "mask=ff000000", "ids=0037fd");
        assertThat(sent).allSatisfy(r -> assertThat(r.getTensorCodec()).isNull());
        assertThatThrownBy(() -> producer.publish(2, Map.of("count", new int[] {9}, "mask", new byte[4], "ids", new byte[3])))
                .hasMessageContaining("job j, step 2, tensor count: registered as INT64 (long[]) but got int[]");
        assertThatThrownBy(() -> producer.publish(2, Map.of("count", new long[] {9}, "mask", new byte[] {0, 2, 0, 0}, "ids", new byte[3])))
                .hasMessageContaining("job j, step 2, tensor mask: value 1 is 2, not a bool (0 or 1)");
    }

    @Test
    void aTensorsOwnOptionsRideOnItsRecordsAndCodeItOnTheTrainer() {
        CodecOptions own = new CodecOptions(5, EntropyMode.ZERO_RUN);
        producer = open("trainer", Map.of("lcckpt.codec.tensor.options", "v*=bits=5,entropy=zero_run; w=bits=3"), 0);
        producer.registerTensor("v", new long[] {VALUES}, DType.FLOAT32);
        producer.registerTensor("u", new long[] {VALUES}, DType.FLOAT32);
        producer.registerTensor("x", new long[] {VALUES}, DType.FLOAT32, TensorCoding.of(CodecOptions.paper(7)));
        float[] w0 = values(0);
        float[] w1 = values(1);
        producer.publish(0, Map.of("v", w0, "u", w0, "x", w0)).join();
        producer.publish(1, Map.of("v", w1, "u", w1, "x", w1)).join();
        List<RawDeltaChunk> sent = values(clients.producer.history(), RawDeltaChunk.class);
        assertThat(sent).filteredOn(r -> r.getTensor().equals("v")).allSatisfy(r -> assertThat(r.getTensorCodec()).isEqualTo(own.describe()));
        assertThat(sent).filteredOn(r -> r.getTensor().equals("u")).allSatisfy(r -> assertThat(r.getTensorCodec()).isNull());
        assertThat(sent).filteredOn(r -> r.getTensor().equals("x")).allSatisfy(r -> assertThat(r.getTensorCodec()).isEqualTo(CodecOptions.paper(7).describe()));
        assertThat(sent).filteredOn(r -> r.getTensor().equals("v") && !r.getInitial())
                .allSatisfy(r -> assertThat(r.getCodecOptions()).isEqualTo(own.describe()));
        // the chunk coded with the tensor's options, byte for byte, and the manifest lists them
        byte[] expected = new ChunkEncoder(own).encode(delta(w1, w0, 0, CHUNK), ChunkState.float32(Arrays.copyOfRange(w0, 0, CHUNK))).record();
        EncodedChunkRecord coded = values(clients.producer.history(), EncodedChunkRecord.class).stream()
                .filter(r -> r.getTensor().equals("v") && r.getChunk() == 0).findFirst().orElseThrow();
        assertThat(bytes(coded.getCodec())).isEqualTo(expected);
        StepManifest manifest = values(clients.producer.history(), StepManifest.class).get(0);
        assertThat(manifest.getTensors()).extracting(t -> t.getName() + ":" + t.getCodec())
                .containsExactly("v:" + own.describe(), "u:null", "x:" + CodecOptions.paper(7).describe());
        assertThat(io.lccheckpoint.schema.StepDigest.checkManifest(manifest)).isNull();
    }

    @Test
    void aFloatTensorCodedExactlyTravelsAsItsBitPatterns() {
        producer = open("storage", Map.of("lcckpt.codec.tensor.options", "bn.*=exact"), 0);
        producer.registerTensor("bn.running_var", new long[] {2}, DType.FLOAT32);
        producer.registerTensor("bn.weight", new long[] {2}, DType.FLOAT64, TensorCoding.of(OPTIONS));
        producer.publish(0, Map.of("bn.running_var", new float[] {1f, 0.5f}, "bn.weight", new double[] {1, 2})).join();
        producer.publish(1, Map.of("bn.running_var", new float[] {1f, 0.25f}, "bn.weight", new double[] {1, 2})).join();
        StepManifest manifest = values(clients.producer.history(), StepManifest.class).get(0);
        assertThat(manifest.getTensors()).extracting(t -> t.getName() + ":" + t.getDtype() + ":" + t.getCodec())
                .containsExactly("bn.running_var:FLOAT32:exact", "bn.weight:FLOAT64:" + OPTIONS.describe());
        RawDeltaChunk delta = values(clients.producer.history(), RawDeltaChunk.class).stream()
                .filter(r -> r.getTensor().equals("bn.running_var") && !r.getInitial()).findFirst().orElseThrow();
        // carried as INT32: the difference of the bit patterns, 0 for the unchanged value
        assertThat(delta.getDtype()).isEqualTo(DType.INT32);
        assertThat(floats(delta.getValues())).hasSize(2);
        ByteBuffer bits = delta.getValues().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        assertThat(bits.getInt(0)).isZero();
        assertThat(bits.getInt(4)).isEqualTo(Float.floatToRawIntBits(0.25f) - Float.floatToRawIntBits(0.5f));
        SuperstepChunk initial = values(clients.producer.history(), SuperstepChunk.class).get(0);
        assertThat(initial.getDtype()).isEqualTo(DType.INT32);
        assertThat(floats(initial.getValues())).containsExactly(1f, 0.5f);
    }

    @Test
    void tensorOptionsThatDoNotParseAreAConfigErrorNamingTheEntry() {
        assertThatThrownBy(() -> open("storage", Map.of("lcckpt.codec.tensor.options", "w=bits=3;exp_avg"), 0))
                .isInstanceOf(org.apache.kafka.common.config.ConfigException.class).hasMessageContaining("'exp_avg' is not <glob>=<options>");
        assertThatThrownBy(() -> open("storage", Map.of("lcckpt.codec.tensor.options", "w=bits=12"), 0))
                .isInstanceOf(org.apache.kafka.common.config.ConfigException.class).hasMessageContaining("bits=12");
    }

    @Test
    void aBfloat16TensorIsPublishedInItsTypeAndItsDeltasAsFloat32() {
        producer = open("trainer", Map.of(), 0);
        producer.registerTensor("h", new long[] {VALUES}, DType.BFLOAT16);
        float[] h0 = new float[VALUES];
        float[] h1 = new float[VALUES];
        for (int i = 0; i < VALUES; i++) {
            h0[i] = SixteenBitFloats.round(ValueType.BFLOAT16, (float) Math.sin(i));
            h1[i] = SixteenBitFloats.round(ValueType.BFLOAT16, h0[i] + 0.01f * (i % 3));
        }
        producer.publish(0, Map.of("h", SixteenBitFloats.toBits(ValueType.BFLOAT16, h0))).join();
        producer.publish(1, Map.of("h", SixteenBitFloats.toBits(ValueType.BFLOAT16, h1))).join();

        List<ProducerRecord<SpecificRecord, SpecificRecord>> sent = clients.producer.history();
        // the initial state: 2-byte values with the XXH64 the encoder computes of the type's values
        SuperstepChunk superstep = values(sent, SuperstepChunk.class).get(0);
        assertThat(superstep.getValues().remaining()).isEqualTo(2 * CHUNK);
        assertThat(superstep.getChecksum()).isEqualTo(Checksums.xxh64(ValueType.BFLOAT16, Arrays.copyOfRange(h0, 0, CHUNK)));
        // step 1 coded on the trainer exactly as the codec codes the float32 delta against a bfloat16 state
        ChunkState state = ChunkState.bfloat16(Arrays.copyOfRange(h0, 0, CHUNK));
        byte[] expected = new ChunkEncoder(OPTIONS).encode(delta(h1, h0, 0, CHUNK), state).record();
        EncodedChunkRecord coded = values(sent, EncodedChunkRecord.class).stream().filter(r -> r.getChunk() == 0).findFirst().orElseThrow();
        assertThat(bytes(coded.getCodec())).isEqualTo(expected);
        assertThatThrownBy(() -> producer.publish(2, Map.of("h", h1))).hasMessageContaining("registered as BFLOAT16 (short[] of the values' bits) but got float[]");
    }

    @Test
    void itsMetricsAreKafkaMetricsOnJmx() throws Exception {
        producer = open("storage", Map.of("client.id", "metrics-test"));
        producer.publish(0, Map.of("w", values(0))).join();
        producer.publish(1, Map.of("w", values(1))).join();

        Map<String, Object> byName = new HashMap<>();
        producer.metrics().metrics().forEach((name, metric) -> {
            if (name.group().equals("lcckpt-producer-metrics")) {
                byName.put(name.name(), metric.metricValue());
            }
        });
        assertThat(byName).containsEntry("steps-committed-total", 2L).containsEntry("bytes-sent-total", producer.bytesSent())
                .containsEntry("raw-bytes-committed-total", producer.rawBytesCommitted()).containsKey("step-commit-time-avg");
        Set<ObjectName> beans = ManagementFactory.getPlatformMBeanServer()
                .queryNames(new ObjectName("lcckpt.producer:type=lcckpt-producer-metrics,client-id=metrics-test,*"), null);
        assertThat(beans).hasSize(1);
        assertThat(ManagementFactory.getPlatformMBeanServer().getAttribute(beans.iterator().next(), "steps-committed-total")).isEqualTo(2L);
    }

    // --- the fixture

    private CheckpointProducer open(String split, Map<String, Object> extra) {
        return open(split, extra, VALUES);
    }

    private CheckpointProducer open(String split, Map<String, Object> extra, int values) {
        Map<String, Object> config = new HashMap<>(Map.of("lcckpt.job", JOB, "lcckpt.create.topics", false, "bootstrap.servers", "mock:9092",
                "lcckpt.chunk.values", CHUNK, "lcckpt.split", split, "lcckpt.generation", 7L,
                "lcckpt.codec.promotion.bits", OPTIONS.promotionBits(), "lcckpt.codec.entropy", "HUFFMAN"));
        config.putAll(extra);
        CheckpointProducer opened = new CheckpointProducer(config, clients, time);
        if (values > 0) {
            opened.registerTensor("w", new long[] {values}, DType.FLOAT32);
        }
        return opened;
    }

    private static float[] values(int step) {
        float[] values = new float[VALUES];
        for (int i = 0; i < VALUES; i++) {
            values[i] = (float) Math.sin(i * 0.37 + step * 0.011) * (1 + step * 0.01f);
        }
        return values;
    }

    private static float[] delta(float[] current, float[] before, int from, int to) {
        float[] delta = new float[to - from];
        for (int i = from; i < to; i++) {
            delta[i - from] = current[i] - before[i];
        }
        return delta;
    }

    private static float[] floats(ByteBuffer bytes) {
        float[] values = new float[bytes.remaining() / 4];
        bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return bytes;
    }

    private static <T> List<T> values(List<ProducerRecord<SpecificRecord, SpecificRecord>> records, Class<T> type) {
        List<T> found = new ArrayList<>();
        records.forEach(record -> {
            if (type.isInstance(record.value())) {
                found.add(type.cast(record.value()));
            }
        });
        return found;
    }

    private RawDeltaChunk chunkOf(StepReceipt receipt, long step) {
        return values(clients.producer.history(), RawDeltaChunk.class).stream().filter(r -> r.getStep() == step).findFirst().orElseThrow();
    }

    private static ChunkStateHandover handover(long generation, long step, int chunk, float[] approx, float[] residual) {
        return new ChunkStateHandover(JOB, generation, step, "w", chunk, DType.FLOAT32, littleEndian(approx), littleEndian(residual),
                Checksums.xxh64(approx));
    }

    private static ByteBuffer littleEndian(float[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            buffer.putFloat(value);
        }
        return buffer.flip();
    }

    /** What the encoder hands over after a step that asked for it. */
    private interface Handover {
        List<ChunkStateHandover> after(long generation, long step);
    }

    /** Mock clients: a producer over a cluster with the job's topics, a consumer that plays the handover topic. */
    private static final class Clients implements KafkaClients {
        MockProducer<SpecificRecord, SpecificRecord> producer;
        Handover handover;
        boolean holdCommits;
        final CountDownLatch committing = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        private final Cluster cluster;

        Clients() {
            Node node = new Node(0, "mock", 9092);
            List<PartitionInfo> partitions = new ArrayList<>();
            for (String topic : List.of(TOPICS.rawDeltas(JOB), TOPICS.checkpoints(JOB))) {
                for (int p = 0; p < 4; p++) {
                    partitions.add(new PartitionInfo(topic, p, node, new Node[] {node}, new Node[] {node}));
                }
            }
            cluster = new Cluster("mock", List.of(node), partitions, Set.of(), Set.of());
        }

        @Override
        public Producer<SpecificRecord, SpecificRecord> producer(Map<String, Object> config, Serializer<SpecificRecord> keys,
                                                                  Serializer<SpecificRecord> values) {
            producer = new MockProducer<>(cluster, true, null, keys, values) {
                @Override
                public void commitTransaction() {
                    if (holdCommits) {
                        committing.countDown();
                        try {
                            release.await(30, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    super.commitTransaction();
                }
            };
            return producer;
        }

        @Override
        public Consumer<byte[], byte[]> consumer(Map<String, Object> config) {
            String topic = TOPICS.handover(JOB);
            TopicPartition partition = new TopicPartition(topic, 0);
            MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("latest");
            consumer.updatePartitions(topic, List.of(new PartitionInfo(topic, 0, null, null, null)));
            consumer.updateEndOffsets(Map.of(partition, 0L));
            // the handover arrives once the step that asked for it is committed: the last manifest in the history
            consumer.schedulePollTask(() -> {
                StepManifest last = values(producer.history(), StepManifest.class).get(values(producer.history(), StepManifest.class).size() - 1);
                long offset = 0;
                for (ChunkStateHandover h : handover.after(last.getGeneration(), last.getStep())) {
                    consumer.addRecord(new ConsumerRecord<>(topic, 0, offset++, null, SingleObjectSerde.encode(h)));
                }
            });
            return consumer;
        }

        @Override
        public Admin admin(Map<String, Object> config) {
            throw new AssertionError("the tests create no topics");
        }
    }
}
