package io.lccheckpoint.encoder;

import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.CheckpointPosition;
import io.lccheckpoint.schema.DTypes;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.SuperstepChunk;
import io.lccheckpoint.schema.kafka.Topics;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.nio.ByteBuffer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The records a trainer wrote to a job's checkpoint topic itself (issue #12: an initial state as a superstep, a chunk it
 * coded), read at the position its notice names and checked against the notice: the key, the fields and, for a coded
 * chunk, the chain. What does not match is refused with the reason ({@link Found#refusal}).
 */
final class StoredRecords {
    /** The record a notice points at, or (value null) why it cannot be used. */
    record Found<T>(T value, String refusal) {
        static <T> Found<T> refused(String refusal) {
            return new Found<>(null, refusal);
        }
    }

    private final Topics topics;
    private final WireFormat wire;
    private final ChainRebuilder.PositionReader positions;

    StoredRecords(Topics topics, WireFormat wire, ChainRebuilder.PositionReader positions) {
        this.topics = topics;
        this.wire = wire;
        this.positions = positions;
    }

    /** The coded chunk a notice points at: this chunk's record of this step, following the chunk's last coded step. */
    Found<byte[]> chunk(String job, RawDeltaChunk chunk, ChunkRecordState state) {
        Found<Object> found = stored(job, chunk, RecordKind.ENCODED_CHUNK);
        if (found.value() == null) {
            return Found.refused(found.refusal());
        }
        if (!(found.value() instanceof EncodedChunkRecord encoded)) {
            return Found.refused("the notice points at " + where(job, chunk.getStoredAt()) + ", which holds a "
                    + found.value().getClass().getSimpleName() + " under this chunk's coded step's key");
        }
        if (encoded.getPreviousStep() == null || encoded.getPreviousStep() != state.lastStep || !encoded.getJob().equals(job)
                || encoded.getGeneration() != chunk.getGeneration() || encoded.getStep() != chunk.getStep()
                || !encoded.getTensor().equals(chunk.getTensor()) || encoded.getChunk() != chunk.getChunk()) {
            return Found.refused("the coded chunk at " + where(job, chunk.getStoredAt()) + " does not match its key and the chain (generation "
                    + encoded.getGeneration() + ", step " + encoded.getStep() + " after step " + encoded.getPreviousStep()
                    + "; the chunk's last coded step is " + state.lastStep + ")");
        }
        ByteBuffer codec = encoded.getCodec();
        byte[] bytes = new byte[codec.remaining()];
        codec.duplicate().get(bytes);
        return new Found<>(bytes, null);
    }

    /**
     * The initial state a notice points at (a superstep the trainer wrote): this chunk's, in whole values. Its checksum is
     * checked by the caller, against the one hash of the state it makes from the values.
     */
    Found<SuperstepChunk> initial(String job, RawDeltaChunk chunk) {
        Found<Object> found = stored(job, chunk, RecordKind.SUPERSTEP_CHUNK);
        if (found.value() == null) {
            return Found.refused(found.refusal());
        }
        if (!(found.value() instanceof SuperstepChunk superstep) || !superstep.getJob().equals(job) || superstep.getGeneration() != chunk.getGeneration()
                || superstep.getStep() != chunk.getStep() || !superstep.getTensor().equals(chunk.getTensor()) || superstep.getChunk() != chunk.getChunk()
                || superstep.getDtype() != chunk.getDtype()) {
            return Found.refused("the initial state at " + where(job, chunk.getStoredAt())
                    + " does not match its key and the notice (job, generation, step, tensor, chunk, dtype)");
        }
        int bytes = superstep.getValues().remaining();
        int width = DTypes.bytesPerValue(chunk.getDtype());
        if (bytes == 0 || bytes % width != 0) {
            return Found.refused("the initial state at " + where(job, chunk.getStoredAt()) + " holds " + bytes + " value bytes, not whole "
                    + chunk.getDtype() + " values");
        }
        return new Found<>(superstep, null);
    }

    /** A position on the job's checkpoint topic, for messages. */
    String where(String job, CheckpointPosition at) {
        return topics.checkpoints(job) + "-" + at.getPartition() + " at offset " + at.getOffset();
    }

    /** The record a notice points at, if it is ours and under the key {@code kind} gives the chunk's step. */
    private Found<Object> stored(String job, RawDeltaChunk chunk, RecordKind kind) {
        CheckpointPosition at = chunk.getStoredAt();
        ConsumerRecord<byte[], byte[]> stored = positions.read(new TopicPartition(topics.checkpoints(job), at.getPartition()), at.getOffset());
        if (stored == null || stored.value() == null) {
            return Found.refused("the notice points at " + where(job, at) + ", which holds " + (stored == null ? "no record" : "a tombstone"));
        }
        CheckpointKey expected = Outputs.key(job, kind, chunk.getTensor(), chunk.getChunk(), chunk.getGeneration(), chunk.getStep());
        Object key;
        Object value;
        try {
            key = stored.key() == null ? null : wire.decode(stored.key());
            value = wire.decode(stored.value());
        } catch (RuntimeException e) {
            return Found.refused("the notice points at " + where(job, at) + ", which holds no record of ours (" + e.getMessage() + ")");
        }
        if (!expected.equals(key)) {
            return Found.refused("the notice points at " + where(job, at) + ", which holds " + key + " instead of this chunk's "
                    + (kind == RecordKind.SUPERSTEP_CHUNK ? "initial state" : "coded step"));
        }
        return new Found<>(value, null);
    }
}
