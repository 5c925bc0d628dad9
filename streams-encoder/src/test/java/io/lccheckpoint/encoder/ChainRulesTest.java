package io.lccheckpoint.encoder;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.schema.CheckpointPosition;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.RemainingStages;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The chain's rules on their own: each refusal for the state that earns it, and retention, without a topology. */
class ChainRulesTest {
    private static final String OPTIONS = "promotion=2,entropy=ZERO_RUN";

    /** A chunk of 4 float32 values in generation 5 at step {@code lastStep}, its residual held by the encoder. */
    private static ChunkRecordState state(long lastStep) {
        ChunkRecordState state = new ChunkRecordState();
        state.generation = 5;
        state.lastStep = lastStep;
        state.dtype = DType.FLOAT32;
        state.size = 4;
        state.supersteps.add(new ChunkRecordState.Superstep(0, 0));
        return state;
    }

    private static RawDeltaChunk raw(long generation, long step, Long previousStep, int bytes) {
        return new RawDeltaChunk("j", generation, step, "w", 0, 1, 1, DType.FLOAT32, false, ByteBuffer.allocate(bytes), RemainingStages.ALL,
                null, false, false, previousStep, null, null);
    }

    private static String reason(ChainRules.Refusal refusal) {
        return refusal == null ? null : refusal.reason();
    }

    @Test
    void theChainsNextStepIsTaken() {
        RawDeltaChunk next = raw(5, 8, 7L, 16);
        assertThat(ChainRules.checkRecord(next, "j")).isNull();
        assertThat(ChainRules.checkDelta(next, state(7))).isNull();
        assertThat(ChainRules.checkRaw(next, state(7), 4)).isNull();
    }

    @Test
    void aRecordIsRefusedForWhatItHoldsAlone() {
        assertThat(reason(ChainRules.checkRecord(raw(5, 8, 7L, 16), "other"))).isEqualTo("record names job j but came on job other's topic");
        assertThat(reason(ChainRules.checkRecord(raw(5, 8, 7L, 6), "j"))).isEqualTo("6 value bytes are not whole FLOAT32 values");
        assertThat(reason(ChainRules.checkRecord(raw(5, 8, 7L, 0), "j"))).isEqualTo("0 value bytes are not whole FLOAT32 values");
        RawDeltaChunk notice = raw(5, 8, 7L, 0);
        notice.setStoredAt(new CheckpointPosition(0, 3L));
        assertThat(reason(ChainRules.checkRecord(notice, "j"))).startsWith("a notice of a record on the checkpoint topic (storedAt) has no values");
        RawDeltaChunk int64 = raw(5, 8, 7L, 32);
        int64.setDtype(DType.INT64);
        assertThat(ChainRules.checkRecord(int64, "j")).as("integer tensors are checkpointed (exactly)").isNull();
        int64.setValues(ByteBuffer.allocate(12));
        assertThat(reason(ChainRules.checkRecord(int64, "j"))).isEqualTo("12 value bytes are not whole INT64 values");
        RawDeltaChunk ownOptions = raw(5, 8, 7L, 16);
        ownOptions.setTensorCodec("bits=11");
        assertThat(reason(ChainRules.checkRecord(ownOptions, "j"))).startsWith("the tensor's codec options do not parse: codec options 'bits=11'");
        RawDeltaChunk codedInitial = raw(5, 0, null, 16);
        codedInitial.setInitial(true);
        codedInitial.setRemaining(RemainingStages.NONE);
        assertThat(reason(ChainRules.checkRecord(codedInitial, "j"))).isEqualTo("an initial state is stored as it is, never coded");
    }

    @Test
    void anInitialStateStartsANewerGenerationOnly() {
        RawDeltaChunk initial = raw(5, 0, null, 16);
        initial.setInitial(true);
        assertThat(ChainRules.checkInitial(initial, null)).isNull();
        assertThat(reason(ChainRules.checkInitial(initial, state(3)))).isEqualTo("duplicate initial state of generation 5 (chunk is at step 3)");
        initial.setGeneration(4);
        assertThat(reason(ChainRules.checkInitial(initial, state(3)))).isEqualTo("initial state of generation 4 is older than the chunk's generation 5");
        initial.setGeneration(6);
        assertThat(ChainRules.checkInitial(initial, state(3))).isNull();
    }

    @Test
    void aDeltaIsRefusedForEveryBreakOfTheChain() {
        assertThat(reason(ChainRules.checkDelta(raw(5, 8, 7L, 16), null))).isEqualTo("no initial state for generation 5 of this chunk");
        assertThat(reason(ChainRules.checkDelta(raw(4, 8, 7L, 16), state(7)))).isEqualTo("generation 4 was superseded by generation 5");
        assertThat(reason(ChainRules.checkDelta(raw(6, 8, 7L, 16), state(7))))
                .isEqualTo("delta of generation 6 before its initial state (chunk is in generation 5)");
        ChunkRecordState poisoned = state(7);
        poisoned.poisonedAt = 6;
        assertThat(reason(ChainRules.checkDelta(raw(5, 8, 7L, 16), poisoned))).startsWith("chunk was poisoned at step 6");
        assertThat(reason(ChainRules.checkDelta(raw(5, 7, 6L, 16), state(7)))).isEqualTo("duplicate step (last coded step 7)");
        assertThat(reason(ChainRules.checkDelta(raw(5, 6, 5L, 16), state(7)))).isEqualTo("out-of-order step (last coded step 7)");
        assertThat(reason(ChainRules.checkDelta(raw(5, 9, 8L, 16), state(7))))
                .startsWith("step 9 follows step 8, but the chunk's last coded step is 7: a record between them was lost or refused");
        // a record without previousStep (an older producer) is taken on its step alone
        assertThat(ChainRules.checkDelta(raw(5, 9, null, 16), state(7))).isNull();
        RawDeltaChunk float64 = raw(5, 8, 7L, 32);
        float64.setDtype(DType.FLOAT64);
        assertThat(reason(ChainRules.checkDelta(float64, state(7)))).isEqualTo("dtype mismatch: FLOAT64 but the chunk is FLOAT32");
        // none of these stops the chain: the next good record is still taken
        assertThat(ChainRules.checkDelta(raw(5, 8, 7L, 16), state(7))).isNull();
    }

    @Test
    void aWrongResidualOrCodingPoisonsTheChain() {
        assertThat(ChainRules.checkRaw(raw(5, 8, 7L, 12), state(7), 3)).isEqualTo(ChainRules.Refusal.deadLetter("shape mismatch: 3 values but the chunk has 4"));
        ChunkRecordState onTrainer = state(7);
        onTrainer.residualOnTrainer = true;
        ChainRules.Refusal unfolded = ChainRules.checkRaw(raw(5, 8, 7L, 16), onTrainer, 4);
        assertThat(unfolded.poisons()).isTrue();
        assertThat(unfolded.reason()).contains("without the trainer's residual folded in");
        RawDeltaChunk folded = raw(5, 8, 7L, 16);
        folded.setResidualFolded(true);
        assertThat(ChainRules.checkRaw(folded, onTrainer, 4)).isNull();
        assertThat(ChainRules.checkRaw(folded, state(7), 4).poisons()).isTrue();

        RawDeltaChunk coded = raw(5, 8, 7L, 10);
        coded.setRemaining(RemainingStages.NONE);
        coded.setCodecOptions(OPTIONS);
        assertThat(ChainRules.checkCoded(coded, onTrainer, OPTIONS)).isNull();
        assertThat(ChainRules.checkCoded(coded, onTrainer, "promotion=3,entropy=ZERO_RUN").reason()).contains("coded by the trainer with options");
        assertThat(ChainRules.checkCoded(coded, state(7), OPTIONS))
                .isEqualTo(ChainRules.Refusal.poison("coded by the trainer, but the encoder holds this chunk's residual (no handover was asked for)"));
    }

    @Test
    void retentionKeepsTheNewestSuperstepsAndWhatTheyNeed() {
        ChunkRecordState state = state(30);
        state.supersteps.clear();
        for (long step : new long[] {0, 10, 20, 30}) {
            state.supersteps.add(new ChunkRecordState.Superstep(step, 0));
        }
        for (long step = 1; step <= 30; step++) {
            if (step % 10 != 0) {
                state.encodedSteps.add(step);
            }
        }
        StepRuns older = new StepRuns();
        older.add(3);
        state.older.add(new ChunkRecordState.OlderGeneration(4, List.of(0L), older));

        List<ChainRules.Dropped> dropped = ChainRules.applyRetention(state, 3);
        assertThat(state.supersteps).extracting(ChunkRecordState.Superstep::step).containsExactly(10L, 20L, 30L);
        assertThat(dropped).contains(new ChainRules.Dropped(RecordKind.SUPERSTEP_CHUNK, 5, 0), new ChainRules.Dropped(RecordKind.ENCODED_CHUNK, 5, 1),
                new ChainRules.Dropped(RecordKind.ENCODED_CHUNK, 5, 9), new ChainRules.Dropped(RecordKind.SUPERSTEP_CHUNK, 4, 0),
                new ChainRules.Dropped(RecordKind.ENCODED_CHUNK, 4, 3));
        assertThat(dropped).doesNotContain(new ChainRules.Dropped(RecordKind.ENCODED_CHUNK, 5, 11));
        assertThat(dropped).hasSize(1 + 9 + 2);
        assertThat(state.older).isEmpty();
        assertThat(state.encodedSteps.contains(11)).isTrue();
    }

    @Test
    void aStrayRecordUnderAKeyOfTheChainIsTheChains() {
        ChunkRecordState state = state(7);
        state.encodedSteps.add(7);
        StepRuns older = new StepRuns();
        older.add(2);
        state.older.add(new ChunkRecordState.OlderGeneration(4, List.of(0L), older));
        assertThat(ChainRules.inChain(state, 5, 7, false)).isTrue();
        assertThat(ChainRules.inChain(state, 5, 0, true)).isTrue();
        assertThat(ChainRules.inChain(state, 5, 8, false)).isFalse();
        assertThat(ChainRules.inChain(state, 4, 2, false)).isTrue();
        assertThat(ChainRules.inChain(state, 4, 0, true)).isTrue();
        assertThat(ChainRules.inChain(state, 4, 1, false)).isFalse();
        assertThat(ChainRules.inChain(null, 5, 7, false)).isFalse();
    }

    @Test
    void aChunkIsCodedWithItsTensorsOptionsAndTheTrainersMustBeThose() {
        CodecOptions own = CodecOptions.zeroRun(2);
        RawDeltaChunk chunk = raw(5, 8, 7L, 16);
        assertThat(ChainRules.optionsOf(chunk, own)).isEqualTo(own);
        chunk.setTensorCodec("bits=4");
        assertThat(ChainRules.optionsOf(chunk, own)).as("missing keys from the encoder's own").isEqualTo(CodecOptions.zeroRun(4));

        ChunkRecordState onTrainer = state(7);
        onTrainer.residualOnTrainer = true;
        chunk.setRemaining(RemainingStages.NONE);
        chunk.setCodecOptions(CodecOptions.zeroRun(4).describe());
        assertThat(ChainRules.checkCoded(chunk, onTrainer, ChainRules.optionsOf(chunk, own).describe())).isNull();
        chunk.setCodecOptions(own.describe());
        assertThat(reason(ChainRules.checkCoded(chunk, onTrainer, ChainRules.optionsOf(chunk, own).describe())))
                .startsWith("coded by the trainer with options " + own.describe() + " but this encoder codes with " + CodecOptions.zeroRun(4).describe());
        // no options apply to an exact chunk: whatever the trainer's options say, its chain is the same
        chunk.setDtype(DType.INT64);
        assertThat(ChainRules.checkCoded(chunk, onTrainer, CodecOptions.paper(8).describe())).isNull();
    }
}
