package io.lccheckpoint.encoder;

import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.SuperstepChunk;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;

/**
 * The first half of a rebuild after a fail-over (DESIGN.md §8, issue #12): each chunk's state at its anchor, from its
 * book (bookkeeping, and the residual when the encoder held it) and the anchor's superstep on the checkpoint topic (ũ).
 * The second half, replaying the chunk's raw-delta records after the anchor through the encoder's own logic, is
 * EncodeProcessor's.
 *
 * <p>The superstep is looked for among every record written to the checkpoint topic from the anchor's time, committed or
 * not: processing is deterministic, so any copy of it (one a crashed instance wrote in a transaction that never
 * committed included) holds the same values, and the book's checksum of ũ pins them. Reading uncommitted records means
 * a rebuild never waits for a transaction to end (its own thread's, open while it rebuilds, among them).
 */
final class ChainRebuilder {
    /** The logs a rebuild reads; {@link KafkaChainLogs} reads them from the brokers. */
    interface Logs {
        /**
         * Hands {@code each} the records of a topic stamped at or after {@code fromTimestamp}, committed or not, up to its
         * end when called, while {@code each} returns true.
         */
        void checkpoints(String topic, long fromTimestamp, Predicate<ConsumerRecord<byte[], byte[]>> each);

        /** Hands the committed records of a raw-delta partition in [{@code fromOffset}, {@code toOffset}). */
        void raw(TopicPartition partition, long fromOffset, long toOffset, Predicate<ConsumerRecord<byte[], byte[]>> each);

        /**
         * A reader of single checkpoint-topic records by position, for one task (one thread): the coded chunks a trainer
         * wrote there itself and announced on the raw-delta topic with a notice ({@code RawDeltaChunk.storedAt}).
         */
        PositionReader positionReader();
    }

    /** Reads one record by its position; records already fetched after it are kept for the next reads. */
    interface PositionReader extends AutoCloseable {
        /**
         * The record at {@code offset} of the partition, or null if the partition has none there (removed by compaction, or
         * the position is past its end).
         */
        ConsumerRecord<byte[], byte[]> read(TopicPartition partition, long offset);

        @Override
        void close();
    }

    private final Logs logs;
    private final WireFormat wire;
    private final Runnable beat;

    ChainRebuilder(Logs logs, WireFormat wire, Runnable beat) {
        this.logs = logs;
        this.wire = wire;
        this.beat = beat;
    }

    /** Each book's chunk at its anchor (store key → state in the work form); {@code read} gets what was read. */
    Map<String, ChunkRecordState> atAnchors(String job, String checkpointTopic, Map<String, ChunkRecordState> books, long[] read) {
        Map<String, ChunkRecordState> states = new HashMap<>();
        Map<String, String> wanted = new HashMap<>();
        long from = Long.MAX_VALUE;
        for (var entry : books.entrySet()) {
            ChunkRecordState book = entry.getValue();
            if (book.approxInBook) {
                states.put(entry.getKey(), atAnchor(book, book.chunk, book.chunk));
            } else {
                String[] parts = entry.getKey().split("\u0000", 3);
                wanted.put(superstepKey(parts[1], Integer.parseInt(parts[2]), book.generation, book.anchorStep), entry.getKey());
                from = Math.min(from, book.anchorStamp);
            }
        }
        if (!wanted.isEmpty()) {
            logs.checkpoints(checkpointTopic, from, record -> {
                read[0]++;
                read[1] += record.serializedKeySize() + Math.max(0, record.serializedValueSize());
                if (read[0] % 256 == 0) {
                    beat.run();
                }
                String superstep = record.key() == null || record.value() == null ? "" : superstepKey(record.key());
                String storeKey = wanted.get(superstep);
                if (storeKey != null) {
                    ChunkRecordState book = books.get(storeKey);
                    ChunkState values = values((SuperstepChunk) wire.decode(record.value()), book);
                    if (values != null) {
                        states.put(storeKey, atAnchor(book, values, book.chunk));
                        wanted.remove(superstep);
                    }
                }
                return !wanted.isEmpty();
            });
        }
        if (!wanted.isEmpty()) {
            String storeKey = wanted.values().iterator().next();
            ChunkRecordState book = books.get(storeKey);
            throw new IllegalStateException("cannot rebuild job " + job + " " + storeKey.substring(storeKey.indexOf('\u0000') + 1).replace('\u0000', ' ')
                    + " (generation " + book.generation + "): its superstep of step " + book.anchorStep + " with checksum " + Long.toHexString(book.anchorChecksum)
                    + " is not on " + checkpointTopic + " from timestamp " + book.anchorStamp + " (" + wanted.size() + " chunks missing theirs)");
        }
        return states;
    }

    /** The book's bookkeeping with ũ from {@code approx} and r from {@code residual} (as the book says) at the anchor. */
    private static ChunkRecordState atAnchor(ChunkRecordState book, ChunkState approx, ChunkState residual) {
        ChunkRecordState state = ChunkRecordState.deserialize(book.serialize(ChunkRecordState.Form.BOOK));
        boolean stored = book.anchorResidual == ChunkRecordState.Residual.STORED;
        if (io.lccheckpoint.schema.DTypes.isExact(book.dtype)) {
            state.chunk = approx.copy(); // no residual
        } else if (book.dtype != DType.FLOAT64) {
            state.chunk = ChunkState.ofFloats(EncodeProcessor.valueType(book.dtype), approx.approxFloat().clone(),
                    stored ? residual.residualFloat().clone() : new float[book.size]);
        } else {
            state.chunk = ChunkState.ofFloat64(approx.approxDouble().clone(), stored ? residual.residualDouble().clone() : new double[book.size]);
        }
        return state;
    }

    /** The superstep's values if they are the ones the book pins, else null (a stale record of the same key). */
    private static ChunkState values(SuperstepChunk superstep, ChunkRecordState book) {
        int width = io.lccheckpoint.schema.DTypes.bytesPerValue(book.dtype);
        if (superstep.getDtype() != book.dtype || superstep.getValues().remaining() != width * book.size) {
            return null;
        }
        ChunkState state = ChunkState.initial(EncodeProcessor.valueType(book.dtype), superstep.getValues());
        return state.approxChecksum() == book.anchorChecksum ? state : null;
    }

    private static String superstepKey(String tensor, int chunk, long generation, long step) {
        return tensor + '\u0000' + chunk + '\u0000' + generation + '\u0000' + step;
    }

    private String superstepKey(byte[] keyBytes) {
        try {
            if (wire.decode(keyBytes) instanceof CheckpointKey key && key.getKind() == RecordKind.SUPERSTEP_CHUNK) {
                return superstepKey(key.getTensor(), key.getChunk(), key.getGeneration(), key.getStep());
            }
        } catch (SerializationException e) {
            // not a record of ours
        }
        return "";
    }
}
