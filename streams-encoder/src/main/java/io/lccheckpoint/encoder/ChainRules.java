package io.lccheckpoint.encoder;

import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.DTypes;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.RemainingStages;
import io.lccheckpoint.schema.StepManifest;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;

/**
 * The rules of a chunk's chain (DESIGN.md §3, §4, §6), apart from Kafka and the codec: which raw-delta record a chunk in a
 * given state may take, and why not (each refusal is a dead letter, naming the rule; a refusal that {@link Refusal#poisons}
 * stops the chunk's chain until a resume starts a new generation), how a chunk's state moves along its chain (a new
 * generation, a coded step, an anchor), which records retention drops, and which records belong to the chain. {@link EncodeProcessor} applies them; {@code ChainRulesTest} tests them without a topology.
 */
final class ChainRules {
    private ChainRules() {
    }

    /** Why a record is refused; {@code poisons}: the chain of the chunk cannot go on from it either. */
    record Refusal(String reason, boolean poisons) {
        static Refusal deadLetter(String reason) {
            return new Refusal(reason, false);
        }

        static Refusal poison(String reason) {
            return new Refusal(reason, true);
        }
    }

    /** A record of the checkpoint topic that retention no longer keeps. */
    record Dropped(RecordKind kind, long generation, long step) {
    }

    /**
     * Null if a raw-delta record's key ({@code key}, decoded) is the ChunkKey its value implies, else why not: the raw-delta
     * topic is keyed so that every step of a chunk lands in one partition, in order, and a record keyed otherwise may
     * overtake its chunk's earlier steps. A manifest is keyed by {@code ChunkKey{job, "", -1}}.
     */
    static String checkKey(Object key, SpecificRecord value) {
        if (!(key instanceof ChunkKey chunkKey)) {
            return "key is a " + ((SpecificRecord) key).getSchema().getName() + ", not a ChunkKey";
        }
        if (value instanceof RawDeltaChunk chunk && !(chunkKey.getJob().equals(chunk.getJob()) && chunkKey.getTensor().equals(chunk.getTensor())
                && chunkKey.getChunk() == chunk.getChunk())) {
            return "key names job " + chunkKey.getJob() + ", tensor " + chunkKey.getTensor() + ", chunk " + chunkKey.getChunk()
                    + " but the record is job " + chunk.getJob() + ", tensor " + chunk.getTensor() + ", chunk " + chunk.getChunk();
        }
        if (value instanceof StepManifest manifest && !chunkKey.getJob().equals(manifest.getJob())) {
            return "key names job " + chunkKey.getJob() + " but the manifest is job " + manifest.getJob();
        }
        return null;
    }

    /** Bytes per value of a raw-delta record's values: the dtype's own for an initial state, a delta's (DTypes) otherwise. */
    static int rawWidth(RawDeltaChunk chunk) {
        return chunk.getInitial() ? DTypes.bytesPerValue(chunk.getDtype()) : DTypes.deltaBytesPerValue(chunk.getDtype());
    }

    /** Bytes per value of the chunk's state as a superstep carries it. */
    static int width(DType dtype) {
        return DTypes.bytesPerValue(dtype);
    }

    /** What can be told from the record alone, on job {@code job}'s raw-delta topic; null if nothing is wrong. */
    static Refusal checkRecord(RawDeltaChunk chunk, String job) {
        if (!chunk.getJob().equals(job)) {
            return Refusal.deadLetter("record names job " + chunk.getJob() + " but came on job " + job + "'s topic");
        }
        if (chunk.getTensorCodec() != null) {
            try {
                CodecOptions.parse(chunk.getTensorCodec(), CodecOptions.paper(2));
            } catch (IllegalArgumentException e) {
                return Refusal.deadLetter("the tensor's codec options do not parse: " + e.getMessage());
            }
        }
        boolean coded = chunk.getRemaining() == RemainingStages.NONE;
        boolean notice = chunk.getStoredAt() != null;
        int bytes = chunk.getValues().remaining();
        if (!coded && !notice && (bytes == 0 || bytes % rawWidth(chunk) != 0)) {
            return Refusal.deadLetter(bytes + " value bytes are not whole " + chunk.getDtype() + " values");
        }
        if (notice && (bytes != 0 || coded == chunk.getInitial())) {
            return Refusal.deadLetter("a notice of a record on the checkpoint topic (storedAt) has no values, and is either an initial state"
                    + " or a coded chunk (remaining NONE)");
        }
        if (chunk.getInitial() && coded) {
            return Refusal.deadLetter("an initial state is stored as it is, never coded");
        }
        return null;
    }

    /** An initial state for a chunk in {@code state} (null: a chunk never seen); null if it starts the chunk's new generation. */
    static Refusal checkInitial(RawDeltaChunk chunk, ChunkRecordState state) {
        long generation = chunk.getGeneration();
        if (state != null && state.generation > generation) {
            return Refusal.deadLetter("initial state of generation " + generation + " is older than the chunk's generation " + state.generation);
        }
        if (state != null && state.generation == generation) {
            return Refusal.deadLetter("duplicate initial state of generation " + generation + " (chunk is at step " + state.lastStep + ")");
        }
        return null;
    }

    /** A delta (raw or coded) for a chunk in {@code state}; null if it is the chain's next step. */
    static Refusal checkDelta(RawDeltaChunk chunk, ChunkRecordState state) {
        long generation = chunk.getGeneration();
        long step = chunk.getStep();
        if (state == null) {
            return Refusal.deadLetter("no initial state for generation " + generation + " of this chunk");
        }
        if (state.generation != generation) {
            return Refusal.deadLetter(state.generation > generation
                    ? "generation " + generation + " was superseded by generation " + state.generation
                    : "delta of generation " + generation + " before its initial state (chunk is in generation " + state.generation + ")");
        }
        if (state.poisonedAt >= 0) {
            return Refusal.deadLetter("chunk was poisoned at step " + state.poisonedAt + "; resume from an earlier step to start a new generation");
        }
        if (step <= state.lastStep) {
            return Refusal.deadLetter((step == state.lastStep ? "duplicate step" : "out-of-order step") + " (last coded step " + state.lastStep + ")");
        }
        if (chunk.getPreviousStep() != null && chunk.getPreviousStep() != state.lastStep) {
            return Refusal.deadLetter("step " + step + " follows step " + chunk.getPreviousStep() + ", but the chunk's last coded step is "
                    + state.lastStep + ": a record between them was lost or refused (see earlier dead letters), or this one does not belong to"
                    + " the chain; resume from step " + state.lastStep + " or earlier to start a new generation");
        }
        if (chunk.getDtype() != state.dtype) {
            return Refusal.deadLetter("dtype mismatch: " + chunk.getDtype() + " but the chunk is " + state.dtype);
        }
        return null;
    }

    /** split=storage: a raw delta of {@code values} values, coded here; null if it can be. */
    static Refusal checkRaw(RawDeltaChunk chunk, ChunkRecordState state, int values) {
        if (values != state.size()) {
            return Refusal.deadLetter("shape mismatch: " + values + " values but the chunk has " + state.size());
        }
        if (state.residualOnTrainer != chunk.getResidualFolded()) {
            return Refusal.poison(state.residualOnTrainer
                    ? "raw delta after trainer-coded steps without the trainer's residual folded in (residualFolded=false)"
                    : "raw delta says the trainer's residual is folded in, but the encoder holds this chunk's residual");
        }
        return null;
    }

    /**
     * The options a chunk is coded with: its tensor's own ({@code tensorCodec}, from the producer's
     * lcckpt.codec.tensor.options; missing keys from {@code own}), or this encoder's {@code own}.
     *
     * @throws IllegalArgumentException for options that do not parse (checkRecord refuses those first)
     */
    static CodecOptions optionsOf(RawDeltaChunk chunk, CodecOptions own) {
        return chunk.getTensorCodec() == null ? own : CodecOptions.parse(chunk.getTensorCodec(), own);
    }

    /**
     * split=trainer: a chunk the trainer coded with {@code chunk.codecOptions}, where the chunk's options are {@code mine}
     * ({@link #optionsOf}). No options apply to an exact (integer or bool) chunk: any coding of it is the same chain.
     */
    static Refusal checkCoded(RawDeltaChunk chunk, ChunkRecordState state, String mine) {
        if (!DTypes.isExact(chunk.getDtype()) && !mine.equals(chunk.getCodecOptions())) {
            return Refusal.poison("coded by the trainer with options " + chunk.getCodecOptions() + " but this encoder codes with "
                    + mine + ": the chain would not be the one the storage split makes");
        }
        if (!state.residualOnTrainer) {
            return Refusal.poison("coded by the trainer, but the encoder holds this chunk's residual (no handover was asked for)");
        }
        return null;
    }

    /**
     * The chunk's state at the initial state of {@code chunk}'s generation ({@code values}: u_0, residual zero), after
     * {@code previous} (null: none). The older generation stays restorable until this one keeps its full set of
     * supersteps. With a handover asked for, the trainer codes from the next step: both sides hold u_0 and a zero
     * residual, so no handover record is needed.
     */
    static ChunkRecordState newGeneration(RawDeltaChunk chunk, ChunkRecordState previous, io.lccheckpoint.codec.ChunkState values, long stamp) {
        ChunkRecordState fresh = new ChunkRecordState();
        fresh.generation = chunk.getGeneration();
        fresh.lastStep = chunk.getStep();
        fresh.lastSuperstep = chunk.getStep();
        fresh.dtype = chunk.getDtype();
        fresh.size = values.size();
        fresh.chunk = values;
        fresh.residualOnTrainer = chunk.getHandover();
        fresh.supersteps.add(new ChunkRecordState.Superstep(chunk.getStep(), stamp));
        if (previous != null) {
            fresh.older.addAll(previous.older);
            fresh.older.add(new ChunkRecordState.OlderGeneration(previous.generation,
                    previous.supersteps.stream().map(ChunkRecordState.Superstep::step).toList(), previous.encodedSteps));
        }
        return fresh;
    }

    /**
     * A coded step of {@code codedBytes} joins the chain; returns whether the chunk takes a superstep at it (the policy's
     * word), which is then recorded, stamped {@code stamp}.
     */
    static boolean advance(ChunkRecordState state, long step, int codedBytes, SuperstepPolicy policy, int width, long stamp) {
        state.lastStep = step;
        state.encodedSteps.add(step);
        state.codedSinceSuperstep += codedBytes;
        if (!policy.superstepAt(state, step, width)) {
            return false;
        }
        state.codedSinceSuperstep = 0;
        state.lastSuperstep = step;
        state.supersteps.add(new ChunkRecordState.Superstep(step, stamp));
        return true;
    }

    /**
     * The chunk's new anchor, where a rebuild starts: the record at {@code offset} on its raw-delta partition, the state
     * after it; ũ there is in the superstep just written, or in the book ({@code approxInBook}).
     */
    static void anchor(ChunkRecordState state, ChunkRecordState.Residual residual, long offset, long stamp, boolean approxInBook, long checksum) {
        state.approxInBook = approxInBook;
        state.anchorStep = state.lastStep;
        state.anchorOffset = offset;
        state.anchorStamp = stamp;
        state.anchorChecksum = checksum;
        state.anchorResidual = residual;
    }

    /**
     * Drops the supersteps beyond the {@code retain} newest and returns the records only they needed (DESIGN.md §4): the
     * dropped supersteps, the coded records up to the oldest one kept, and, once this generation keeps its full set, every
     * record of older generations.
     */
    static List<Dropped> applyRetention(ChunkRecordState state, int retain) {
        List<Dropped> dropped = new ArrayList<>();
        while (state.supersteps.size() > retain) {
            dropped.add(new Dropped(RecordKind.SUPERSTEP_CHUNK, state.generation, state.supersteps.remove(0).step()));
        }
        long oldest = state.supersteps.get(0).step();
        state.encodedSteps.removeUpTo(oldest, step -> dropped.add(new Dropped(RecordKind.ENCODED_CHUNK, state.generation, step)));
        if (state.supersteps.size() >= retain) {
            for (ChunkRecordState.OlderGeneration older : state.older) {
                older.supersteps().forEach(step -> dropped.add(new Dropped(RecordKind.SUPERSTEP_CHUNK, older.generation(), step)));
                older.encodedSteps().forEach(step -> dropped.add(new Dropped(RecordKind.ENCODED_CHUNK, older.generation(), step)));
            }
            state.older.clear();
        }
        return dropped;
    }

    /**
     * Whether the chain of a chunk in {@code state} (null: none) holds a record of {@code generation}'s {@code step}: its
     * initial state or a superstep ({@code initial}), else a coded step. A refused notice's stray record under such a key
     * must not be tombstoned: the tombstone would remove the chain's own record.
     */
    static boolean inChain(ChunkRecordState state, long generation, long step, boolean initial) {
        if (state == null) {
            return false;
        }
        if (state.generation == generation) {
            return initial ? state.supersteps.stream().anyMatch(superstep -> superstep.step() == step) : state.encodedSteps.contains(step);
        }
        return state.older.stream().anyMatch(older -> older.generation() == generation
                && (initial ? older.supersteps().contains(step) : older.encodedSteps().contains(step)));
    }
}
