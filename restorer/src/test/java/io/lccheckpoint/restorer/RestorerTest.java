package io.lccheckpoint.restorer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.lccheckpoint.codec.Checksums;
import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.StepDigest;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.SuperstepChunk;
import io.lccheckpoint.schema.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

/** The restore logic on hand-built records (what the encoder writes), without a broker. */
class RestorerTest {
    private static final String JOB = "j";
    private static final int CHUNK = 1000;
    private static final int LENGTH = 2500;

    /** A job of one tensor in 3 chunks: superstep at 0, deltas 1..6; the reconstruction after each step. */
    private final List<Map.Entry<CheckpointKey, SpecificRecord>> records = new ArrayList<>();
    private final List<float[]> truth = new ArrayList<>();

    RestorerTest() {
        SplittableRandom random = new SplittableRandom(3);
        float[] initial = new float[LENGTH];
        for (int i = 0; i < LENGTH; i++) {
            initial[i] = (float) random.nextGaussian();
        }
        ChunkEncoder encoder = new ChunkEncoder(CodecOptions.zeroRun(2));
        List<ChunkState> chunks = new ArrayList<>();
        for (int c = 0; c * CHUNK < LENGTH; c++) {
            float[] values = new float[Math.min(CHUNK, LENGTH - c * CHUNK)];
            System.arraycopy(initial, c * CHUNK, values, 0, values.length);
            chunks.add(ChunkState.float32(values));
            put(RecordKind.SUPERSTEP_CHUNK, c, 0, new SuperstepChunk(JOB, 1L, 0L, "w", c, DType.FLOAT32, bytes(values), Checksums.xxh64(values)));
        }
        finishStep(0, chunks);
        for (long step = 1; step <= 6; step++) {
            for (int c = 0; c < chunks.size(); c++) {
                float[] delta = new float[chunks.get(c).size()];
                for (int i = 0; i < delta.length; i++) {
                    delta[i] = (float) (random.nextGaussian() * 1e-3);
                }
                byte[] record = encoder.encode(delta, chunks.get(c)).record();
                put(RecordKind.ENCODED_CHUNK, c, step, new EncodedChunkRecord(JOB, 1L, step, "w", c, ByteBuffer.wrap(record), step - 1));
            }
            finishStep(step, chunks);
        }
    }

    private void finishStep(long step, List<ChunkState> chunks) {
        // as the producer and the encoder write them: a sealed manifest, a marker with the step's content digest
        put(RecordKind.MANIFEST, -1, step, StepDigest.sealed(new StepManifest(JOB, 1L, step, null,
                List.of(new TensorInfo("w", List.of((long) LENGTH), DType.FLOAT32, CHUNK, 3, null)), null)));
        long digest = 0;
        for (int c = 0; c < chunks.size(); c++) {
            digest += StepDigest.chunkContribution("w", c, Checksums.xxh64(chunks.get(c).approxFloat()));
        }
        put(RecordKind.STEP_COMPLETE, -1, step, new StepComplete(JOB, 1L, step, 3, 0L, 4L * LENGTH, step == 0, 0L, -1L, digest, null, null));
        float[] state = new float[LENGTH];
        for (int c = 0; c < chunks.size(); c++) {
            System.arraycopy(chunks.get(c).approxFloat(), 0, state, c * CHUNK, chunks.get(c).size());
        }
        truth.add(state);
    }

    private void put(RecordKind kind, int chunk, long step, SpecificRecord value) {
        records.add(new AbstractMap.SimpleEntry<>(new CheckpointKey(JOB, kind, chunk < 0 ? "" : "w", chunk, 1L, step), value));
    }

    private static ByteBuffer bytes(float[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(values);
        return buffer;
    }

    private List<Map.Entry<CheckpointKey, SpecificRecord>> without(RecordKind kind, int chunk, long step) {
        List<Map.Entry<CheckpointKey, SpecificRecord>> copy = new ArrayList<>(records);
        copy.removeIf(e -> e.getKey().getKind() == kind && e.getKey().getChunk() == chunk && e.getKey().getStep() == step);
        return copy;
    }

    @Test
    void aManifestWhoseDtypeDisagreesWithTheRecordsIsRefusedNamingTheTensor() {
        List<Map.Entry<CheckpointKey, SpecificRecord>> forged = new ArrayList<>(records);
        forged.removeIf(e -> e.getKey().getKind() == RecordKind.MANIFEST && e.getKey().getStep() == 6);
        forged.add(new AbstractMap.SimpleEntry<>(new CheckpointKey(JOB, RecordKind.MANIFEST, "", -1, 1L, 6L), StepDigest.sealed(new StepManifest(JOB,
                1L, 6L, null, List.of(new TensorInfo("w", List.of((long) LENGTH), DType.BOOL, CHUNK, 3, null)), null))));
        assertThatThrownBy(() -> Restorer.rebuild(JOB, forged, OptionalLong.of(6))).isInstanceOf(RestoreException.class)
                .hasMessageContaining("tensor w").hasMessageContaining("is FLOAT32, the manifest says BOOL");
    }

    @Test
    void rebuildsEveryCompleteStepExactly() {
        for (long step = 0; step <= 6; step++) {
            RestoredState state = Restorer.rebuild(JOB, records, OptionalLong.of(step));
            assertThat(state.tensors().get("w").floats()).as("step %d", step).containsExactly(truth.get((int) step));
            assertThat(state.deltasApplied()).isEqualTo(3 * step);
        }
        assertThat(Restorer.rebuild(JOB, records, OptionalLong.empty()).step()).isEqualTo(6);
    }

    @Test
    void theThreadCountChangesNeitherTheValuesNorTheDigestNorTheErrorReported() {
        for (long step = 0; step <= 6; step++) {
            RestoredState one = Restorer.rebuild(JOB, records, OptionalLong.of(step), 1);
            RestoredState three = Restorer.rebuild(JOB, records, OptionalLong.of(step), 3);
            assertThat(three.tensors().get("w").floats()).as("step %d", step).containsExactly(one.tensors().get("w").floats())
                    .containsExactly(truth.get((int) step));
            assertThat(three.digest()).isEqualTo(one.digest());
            assertThat(three.deltasApplied()).isEqualTo(one.deltasApplied());
        }
        // two broken chunks: the first in manifest order is the one named, whichever thread finished first
        List<Map.Entry<CheckpointKey, SpecificRecord>> broken = without(RecordKind.ENCODED_CHUNK, 1, 3);
        broken.removeIf(e -> e.getKey().getKind() == RecordKind.ENCODED_CHUNK && e.getKey().getChunk() == 2 && e.getKey().getStep() == 2);
        String sequential = catchThrowable(() -> Restorer.rebuild(JOB, broken, OptionalLong.of(5), 1)).getMessage();
        assertThat(sequential).contains("chunk 1");
        for (int run = 0; run < 5; run++) {
            assertThat(catchThrowable(() -> Restorer.rebuild(JOB, broken, OptionalLong.of(5), 3))).isInstanceOf(RestoreException.class)
                    .hasMessage(sequential);
        }
    }

    @Test
    void aGapInTheChainIsAnErrorNamingTensorChunkAndSteps() {
        assertThatThrownBy(() -> Restorer.rebuild(JOB, without(RecordKind.ENCODED_CHUNK, 1, 3), OptionalLong.of(5)))
                .isInstanceOf(RestoreException.class)
                .hasMessageContaining("tensor w, chunk 1").hasMessageContaining("the record of step 4 follows step 3, but the chain was rebuilt up to step 2")
                .hasMessageContaining("missing");
        // records of writers that predate previousStep: the checksum still catches the gap
        List<Map.Entry<CheckpointKey, SpecificRecord>> legacy = new ArrayList<>();
        for (Map.Entry<CheckpointKey, SpecificRecord> entry : without(RecordKind.ENCODED_CHUNK, 1, 3)) {
            if (entry.getValue() instanceof EncodedChunkRecord record) {
                EncodedChunkRecord copy = EncodedChunkRecord.newBuilder(record).setPreviousStep(null).build();
                legacy.add(new AbstractMap.SimpleEntry<>(entry.getKey(), copy));
            } else {
                legacy.add(entry);
            }
        }
        assertThatThrownBy(() -> Restorer.rebuild(JOB, legacy, OptionalLong.of(5))).isInstanceOf(RestoreException.class)
                .hasMessageContaining("tensor w, chunk 1").hasMessageContaining("step 4 does not apply to the state rebuilt up to step 2")
                .hasMessageContaining("missing or corrupt");
    }

    @Test
    void aMissingChunkOfTheStepIsNamed() {
        assertThatThrownBy(() -> Restorer.rebuild(JOB, without(RecordKind.ENCODED_CHUNK, 2, 6), OptionalLong.of(6)))
                .isInstanceOf(RestoreException.class).hasMessageContaining("chunk 2").hasMessageContaining("encoded chunk of step 6 is missing");
    }

    @Test
    void corruptBytesAreAnErrorNotAWrongModel() {
        List<Map.Entry<CheckpointKey, SpecificRecord>> corrupt = new ArrayList<>(records);
        for (int k = 0; k < corrupt.size(); k++) {
            Map.Entry<CheckpointKey, SpecificRecord> entry = corrupt.get(k);
            if (entry.getValue() instanceof EncodedChunkRecord record && record.getStep() == 4 && record.getChunk() == 0) {
                byte[] bytes = record.getCodec().array().clone();
                bytes[bytes.length / 2] ^= 0x40;
                corrupt.set(k, new AbstractMap.SimpleEntry<>(entry.getKey(),
                        new EncodedChunkRecord(JOB, 1L, 4L, "w", 0, ByteBuffer.wrap(bytes), 3L)));
            }
        }
        assertThatThrownBy(() -> Restorer.rebuild(JOB, corrupt, OptionalLong.of(6)))
                .isInstanceOf(RestoreException.class).hasMessageContaining("chunk 0").hasMessageContaining("step 4");
    }

    @Test
    void aCorruptSuperstepFailsItsChecksum() {
        List<Map.Entry<CheckpointKey, SpecificRecord>> corrupt = new ArrayList<>(records);
        for (int k = 0; k < corrupt.size(); k++) {
            if (corrupt.get(k).getValue() instanceof SuperstepChunk superstep && superstep.getChunk() == 1) {
                ByteBuffer values = ByteBuffer.wrap(superstep.getValues().array().clone());
                values.put(7, (byte) (values.get(7) ^ 1));
                corrupt.set(k, new AbstractMap.SimpleEntry<>(corrupt.get(k).getKey(),
                        new SuperstepChunk(JOB, 1L, 0L, "w", 1, DType.FLOAT32, values, superstep.getChecksum())));
            }
        }
        assertThatThrownBy(() -> Restorer.rebuild(JOB, corrupt, OptionalLong.of(2)))
                .isInstanceOf(RestoreException.class).hasMessageContaining("chunk 1").hasMessageContaining("fails its checksum");
    }

    @Test
    void anIncompleteStepOrAMissingManifestIsRefused() {
        assertThatThrownBy(() -> Restorer.rebuild(JOB, without(RecordKind.STEP_COMPLETE, -1, 5), OptionalLong.of(5)))
                .isInstanceOf(RestoreException.class).hasMessageContaining("step 5 is not a complete, retained step");
        assertThatThrownBy(() -> Restorer.rebuild(JOB, without(RecordKind.MANIFEST, -1, 5), OptionalLong.of(5)))
                .isInstanceOf(RestoreException.class).hasMessageContaining("manifest");
        // a tombstone removes a record as compaction would
        List<Map.Entry<CheckpointKey, SpecificRecord>> tombstoned = new ArrayList<>(records);
        tombstoned.add(new AbstractMap.SimpleEntry<>(new CheckpointKey(JOB, RecordKind.STEP_COMPLETE, "", -1, 1L, 6L), null));
        assertThat(Restorer.rebuild(JOB, tombstoned, OptionalLong.empty()).step()).isEqualTo(5);
    }

    @Test
    void theLatestStepIsTheLatestRestorableOneAndTheNewerStepsPassedOverAreNamed() {
        RestoredState latest = Restorer.rebuild(JOB, without(RecordKind.ENCODED_CHUNK, 2, 6), OptionalLong.empty());
        assertThat(latest.step()).isEqualTo(5);
        assertThat(latest.tensors().get("w").floats()).containsExactly(truth.get(5));
        assertThat(latest.passedOver()).singleElement().asString().contains("step 6").contains("chunk 2").contains("encoded chunk of step 6 is missing");
        assertThat(Restorer.rebuild(JOB, records, OptionalLong.empty()).passedOver()).isEmpty();
    }

    @Test
    void aCorruptSuperstepIsPassedOverForAnOlderOneAndTheStepIsStillExact() {
        List<Map.Entry<CheckpointKey, SpecificRecord>> withSuperstep = new ArrayList<>(records);
        float[] atThree = truth.get(3);
        for (int c = 0; c < 3; c++) {
            float[] values = java.util.Arrays.copyOfRange(atThree, c * CHUNK, Math.min(LENGTH, (c + 1) * CHUNK));
            ByteBuffer bytes = bytes(values);
            long checksum = Checksums.xxh64(values);
            if (c == 1) {
                bytes.put(9, (byte) (bytes.get(9) ^ 4));
            }
            withSuperstep.add(new AbstractMap.SimpleEntry<>(new CheckpointKey(JOB, RecordKind.SUPERSTEP_CHUNK, "w", c, 1L, 3L),
                    new SuperstepChunk(JOB, 1L, 3L, "w", c, DType.FLOAT32, bytes, checksum)));
        }
        RestoredState state = Restorer.rebuild(JOB, withSuperstep, OptionalLong.of(5));
        assertThat(state.tensors().get("w").floats()).containsExactly(truth.get(5));
        // chunks 0 and 2 from superstep 3 (2 deltas each), chunk 1 from superstep 0 (5 deltas)
        assertThat(state.deltasApplied()).isEqualTo(2 + 5 + 2);
        assertThat(state.passedOver()).singleElement().asString().contains("chunk 1").contains("superstep of step 3 fails its checksum")
                .contains("rebuilt from an older superstep");
    }

    @Test
    void aTargetedReadKeepsOneValidSuperstepPerChunkAndRebuildsTheSameBits() {
        List<Map.Entry<CheckpointKey, SpecificRecord>> withSupersteps = new ArrayList<>(records);
        for (int at : new int[] {3, 6}) {
            for (int c = 0; c < 3; c++) {
                float[] values = java.util.Arrays.copyOfRange(truth.get(at), c * CHUNK, Math.min(LENGTH, (c + 1) * CHUNK));
                ByteBuffer bytes = bytes(values);
                long checksum = Checksums.xxh64(values);
                if (at == 3 && c == 2) {
                    bytes.put(1, (byte) (bytes.get(1) ^ 8));
                }
                withSupersteps.add(new AbstractMap.SimpleEntry<>(new CheckpointKey(JOB, RecordKind.SUPERSTEP_CHUNK, "w", c, 1L, (long) at),
                        new SuperstepChunk(JOB, 1L, (long) at, "w", c, DType.FLOAT32, bytes, checksum)));
            }
        }
        for (long step = 0; step <= 6; step++) {
            RestoredState targeted = Restorer.rebuildTargeted(JOB, withSupersteps, 1L, step);
            assertThat(targeted.tensors().get("w").floats()).as("step %d", step).containsExactly(truth.get((int) step));
        }
        // step 5: chunks 0 and 1 from superstep 3, chunk 2 (whose superstep 3 is corrupt) from 0; the superstep of 6 is
        // beyond the step and was never held
        RestoredState five = Restorer.rebuildTargeted(JOB, withSupersteps, 1L, 5);
        assertThat(five.deltasApplied()).isEqualTo(2 + 2 + 5);
        assertThat(five.passedOver()).singleElement().asString().contains("chunk 2").contains("superstep of step 3 fails its checksum");
    }

    @Test
    void aManifestWhoseShapeCannotBeRightIsRefusedBeforeAnythingIsAllocated() {
        List<Map.Entry<CheckpointKey, SpecificRecord>> huge = without(RecordKind.MANIFEST, -1, 6);
        huge.add(new AbstractMap.SimpleEntry<>(new CheckpointKey(JOB, RecordKind.MANIFEST, "", -1, 1L, 6L),
                new StepManifest(JOB, 1L, 6L, null, List.of(new TensorInfo("w", List.of(1L << 20, 1L << 20), DType.FLOAT32, CHUNK, 3, null)), null)));
        assertThatThrownBy(() -> Restorer.rebuild(JOB, huge, OptionalLong.of(6))).isInstanceOf(RestoreException.class)
                .hasMessageContaining("tensor w").hasMessageContaining("more than 2^31 values");
        List<Map.Entry<CheckpointKey, SpecificRecord>> wrong = without(RecordKind.MANIFEST, -1, 6);
        wrong.add(new AbstractMap.SimpleEntry<>(new CheckpointKey(JOB, RecordKind.MANIFEST, "", -1, 1L, 6L),
                new StepManifest(JOB, 1L, 6L, null, List.of(new TensorInfo("w", List.of(10L), DType.FLOAT32, CHUNK, 3, null)), null)));
        assertThatThrownBy(() -> Restorer.rebuild(JOB, wrong, OptionalLong.of(6))).isInstanceOf(RestoreException.class)
                .hasMessageContaining("does not agree with its 3 chunks of 1000 values");
    }

    @Test
    void aStepLargerThanTheHeapIsAClearErrorWithTheSizeNeeded() {
        long values = Integer.MAX_VALUE - 8;
        int chunk = 1 << 24;
        List<Map.Entry<CheckpointKey, SpecificRecord>> big = without(RecordKind.MANIFEST, -1, 6);
        big.add(new AbstractMap.SimpleEntry<>(new CheckpointKey(JOB, RecordKind.MANIFEST, "", -1, 1L, 6L), new StepManifest(JOB, 1L, 6L, null,
                List.of(new TensorInfo("w", List.of(values), DType.FLOAT64, chunk, (int) ((values + chunk - 1) / chunk), null)), null)));
        org.junit.jupiter.api.Assumptions.assumeTrue(Runtime.getRuntime().maxMemory() < 8 * values, "a heap this large holds the step");
        assertThatThrownBy(() -> Restorer.rebuild(JOB, big, OptionalLong.of(6))).isInstanceOf(RestoreException.class)
                .hasMessageContaining("needs " + 8 * values / (1 << 20) + " MiB of heap").hasMessageContaining("-Xmx");
    }

    @Test
    void stepsWhoseRecordsAreGoneAreNotOfferedAsRestorable() {
        List<Map.Entry<CheckpointKey, SpecificRecord>> resumed = new ArrayList<>(records);
        // an older generation's marker and manifest, its chunks tombstoned long ago (a resumed run)
        resumed.add(new AbstractMap.SimpleEntry<>(new CheckpointKey(JOB, RecordKind.MANIFEST, "", -1, 0L, 9L),
                new StepManifest(JOB, 0L, 9L, null, List.of(new TensorInfo("w", List.of((long) LENGTH), DType.FLOAT32, CHUNK, 3, null)), null)));
        resumed.add(new AbstractMap.SimpleEntry<>(new CheckpointKey(JOB, RecordKind.STEP_COMPLETE, "", -1, 0L, 9L),
                new StepComplete(JOB, 0L, 9L, 3, 0L, 0L, false, 0L, -1L, null, null, null)));
        assertThatThrownBy(() -> Restorer.rebuild(JOB, resumed, OptionalLong.of(42))).isInstanceOf(RestoreException.class)
                .hasMessageContaining("restorable steps: generation 1: 0..6 (7)").hasMessageNotContaining("generation 0");
        assertThatThrownBy(() -> Restorer.rebuild(JOB, resumed, OptionalLong.of(9))).isInstanceOf(RestoreException.class)
                .hasMessageContaining("no superstep at or before step 9");
    }

    @Test
    void aGenerationCanBeAskedForAndOneThatHoldsNothingIsNamed() {
        assertThat(Restorer.rebuild(JOB, records, OptionalLong.of(1), OptionalLong.empty(), 1).step()).isEqualTo(6);
        RestoredState third = Restorer.rebuild(JOB, records, OptionalLong.of(1), OptionalLong.of(3), 1);
        assertThat(third.generation()).isEqualTo(1);
        assertThat(third.tensors().get("w").floats()).containsExactly(truth.get(3));
        assertThatThrownBy(() -> Restorer.rebuild(JOB, records, OptionalLong.of(5), OptionalLong.empty(), 1)).isInstanceOf(RestoreException.class)
                .hasMessageContaining("generation 5 has no complete, retained step; restorable steps: generation 1: 0..6 (7)");
        assertThatThrownBy(() -> Restorer.rebuild(JOB, records, OptionalLong.of(1), OptionalLong.of(9), 1)).isInstanceOf(RestoreException.class)
                .hasMessageContaining("step 9 of generation 1 is not a complete, retained step");
    }

    @Test
    void aManifestWithSwappedDimensionsFailsItsChecksumBeforeAnythingIsAllocated() {
        List<Map.Entry<CheckpointKey, SpecificRecord>> altered = new ArrayList<>();
        for (Map.Entry<CheckpointKey, SpecificRecord> entry : records) {
            if (entry.getValue() instanceof StepManifest manifest && manifest.getStep() == 6) {
                StepManifest swapped = StepManifest.newBuilder(manifest).build();
                swapped.setTensors(List.of(new TensorInfo("w", List.of(50L, 50L), DType.FLOAT32, CHUNK, 3, null)));
                altered.add(new AbstractMap.SimpleEntry<>(entry.getKey(), swapped));
            } else {
                altered.add(entry);
            }
        }
        assertThatThrownBy(() -> Restorer.rebuild(JOB, altered, OptionalLong.of(6))).isInstanceOf(RestoreException.class)
                .hasMessageContaining("the manifest of step 6 fails its checksum");
        // --latest passes it over and says so
        RestoredState latest = Restorer.rebuild(JOB, altered, OptionalLong.empty());
        assertThat(latest.step()).isEqualTo(5);
        assertThat(latest.passedOver()).singleElement().asString().contains("fails its checksum");
    }

    @Test
    void aStepWhoseRecordsApplyCleanlyButAreNotTheEncodersFailsItsContentDigest() {
        // another chunk record for step 6: coded on the true state of step 5, so it applies and passes its own checksum
        float[] five = java.util.Arrays.copyOfRange(truth.get(5), 0, CHUNK);
        float[] delta = new float[CHUNK];
        java.util.Arrays.fill(delta, 0.25f);
        byte[] other = new ChunkEncoder(CodecOptions.zeroRun(2)).encode(delta, ChunkState.float32(five)).record();
        List<Map.Entry<CheckpointKey, SpecificRecord>> replaced = without(RecordKind.ENCODED_CHUNK, 0, 6);
        replaced.add(new AbstractMap.SimpleEntry<>(new CheckpointKey(JOB, RecordKind.ENCODED_CHUNK, "w", 0, 1L, 6L),
                new EncodedChunkRecord(JOB, 1L, 6L, "w", 0, ByteBuffer.wrap(other), 5L)));
        assertThatThrownBy(() -> Restorer.rebuild(JOB, replaced, OptionalLong.of(6))).isInstanceOf(RestoreException.class)
                .hasMessageContaining("step 6 rebuilt to content digest").hasMessageContaining("not the one the encoder wrote");
        RestoredState exact = Restorer.rebuild(JOB, records, OptionalLong.of(6));
        assertThat(exact.digest()).isEqualTo(((StepComplete) records.stream().filter(e -> e.getKey().getKind() == RecordKind.STEP_COMPLETE
                && e.getKey().getStep() == 6).findFirst().orElseThrow().getValue()).getDigest());
    }

    @Test
    void aMarkerAndAManifestThatCountDifferentChunksAreRefused() {
        List<Map.Entry<CheckpointKey, SpecificRecord>> miscounted = without(RecordKind.STEP_COMPLETE, -1, 6);
        miscounted.add(new AbstractMap.SimpleEntry<>(new CheckpointKey(JOB, RecordKind.STEP_COMPLETE, "", -1, 1L, 6L),
                new StepComplete(JOB, 1L, 6L, 2, 0L, 0L, false, 0L, -1L, null, null, null)));
        assertThatThrownBy(() -> Restorer.rebuild(JOB, miscounted, OptionalLong.of(6))).isInstanceOf(RestoreException.class)
                .hasMessageContaining("marker counts 2 coded chunks, its manifest 3");
    }
}
