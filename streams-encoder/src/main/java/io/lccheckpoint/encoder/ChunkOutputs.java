package io.lccheckpoint.encoder;

import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.ChunkStateHandover;
import io.lccheckpoint.schema.DeadLetter;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.StepDigest;
import io.lccheckpoint.schema.SuperstepChunk;
import io.lccheckpoint.schema.kafka.Topics;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.common.metrics.stats.CumulativeSum;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * What an encode task writes for a chunk's record besides its coded chunk (DESIGN.md §4, §6): supersteps, tombstones
 * of what retention drops, handovers to a trainer, the progress notice of the chunk's step, and dead letters (counted in
 * {@code dead-letters-total}). While a rebuild replays, nothing is written: those records were written the first time.
 */
final class ChunkOutputs {
    /** When this task read a job's latest manifest (a step's start time may be that, when the same task coded its chunks). */
    private record ManifestStamp(long generation, long step, long stamp) {
    }

    private final ProcessorContext<byte[], byte[]> context;
    private final WireFormat wire;
    private final Topics topics;
    private final TopicCheck topicCheck;
    private final TaskChunkStates chunks;
    private final SuperstepPolicy policy;
    private final int deadLetterLimit;
    private final Sensor deadLetters;
    /**
     * Per job, the last manifest this task wrote. A step's manifest is written before its chunks, so when they come
     * through the same task (one partition) the step's start time is the manifest's: a pushdown restore of exactly that
     * step finds it. Held in memory only (after a restart, or with the manifest on another partition's task, the
     * restorer's seek margin covers the few milliseconds between them).
     */
    private final Map<String, ManifestStamp> manifestStamps = new HashMap<>();

    ChunkOutputs(ProcessorContext<byte[], byte[]> context, WireFormat wire, Topics topics, TopicCheck topicCheck, TaskChunkStates chunks,
                 SuperstepPolicy policy, int maxRecordBytes) {
        this.context = context;
        this.wire = wire;
        this.topics = topics;
        this.topicCheck = topicCheck;
        this.chunks = chunks;
        this.policy = policy;
        this.deadLetterLimit = deadLetterRecordLimit(maxRecordBytes);
        this.deadLetters = context.metrics().addSensor("lcckpt-dead-letters-" + context.taskId(), Sensor.RecordingLevel.INFO);
        deadLetters.add(new MetricName("dead-letters-total", "lcckpt-encoder", "Records sent to a dead-letter topic",
                Map.of("task-id", context.taskId().toString())), new CumulativeSum());
    }

    /**
     * A dead letter keeps the record it is about whole up to this many bytes, and the first this many bytes of a larger one:
     * the raw-delta topic is trimmed, so the dead letter is the evidence (issue #12). It leaves room below the record size
     * the job's topics take ({@link EncoderSettings#MAX_RECORD_BYTES_CONFIG}) for the rest of the dead letter.
     */
    static int deadLetterRecordLimit(int maxRecordBytes) {
        return maxRecordBytes - (16 << 10);
    }

    /** The job's manifest of {@code generation}'s {@code step} was written at {@code stamp}. */
    void manifestWritten(String job, long generation, long step, long stamp) {
        manifestStamps.put(job, new ManifestStamp(generation, step, stamp));
    }

    /** split switch storage → trainer: the chunk's state after this step goes to the trainer, which codes from the next step. */
    void handOver(long timestamp, String job, RawDeltaChunk chunk, ChunkRecordState state) {
        if (chunks.replaying()) {
            state.residualOnTrainer = true;
            return;
        }
        state.residualOnTrainer = true;
        Outputs.handover(context, wire, timestamp, new ChunkKey(job, chunk.getTensor(), chunk.getChunk()),
                new ChunkStateHandover(job, state.generation, chunk.getStep(), chunk.getTensor(), chunk.getChunk(), state.dtype,
                        state.chunk.approxLittleEndian(), state.chunk.residualLittleEndian(), state.chunk.approxChecksum()));
    }


    /** Drops supersteps beyond the retained count and tombstones the records only they needed (DESIGN.md §4). */
    void applyRetention(long timestamp, String job, RawDeltaChunk chunk, ChunkRecordState state) {
        for (ChainRules.Dropped dropped : ChainRules.applyRetention(state, policy.retain())) {
            tombstone(timestamp, job, chunk, dropped.kind(), dropped.generation(), dropped.step());
        }
    }

    void tombstone(long timestamp, String job, RawDeltaChunk chunk, RecordKind kind, long generation, long step) {
        Outputs.checkpoint(context, wire, timestamp, Outputs.key(job, kind, chunk.getTensor(), chunk.getChunk(), generation, step), null);
    }


    long writeSuperstep(long timestamp, String job, RawDeltaChunk chunk, ChunkRecordState state, long checksum) {
        if (chunks.replaying()) {
            // a superstep writes the chunk's book, so the anchor a replay starts from is never before one
            throw new IllegalStateException("a rebuild of job " + job + " tensor " + chunk.getTensor() + " chunk " + chunk.getChunk()
                    + " replayed a superstep at step " + chunk.getStep() + ", but its book's anchor is before it: the book and the logs disagree");
        }
        ByteBuffer values = state.chunk.approxLittleEndian();
        Outputs.checkpoint(context, wire, timestamp, Outputs.key(job, RecordKind.SUPERSTEP_CHUNK, chunk.getTensor(), chunk.getChunk(), state.generation, state.lastStep),
                new SuperstepChunk(job, state.generation, state.lastStep, chunk.getTensor(), chunk.getChunk(), state.dtype, values, checksum));
        return values.capacity();
    }


    void save(long stamp, String key, ChunkRecordState state, String job, RawDeltaChunk chunk,
                      long encodedBytes, boolean superstep, long rawBytes, boolean anchored, long checksum) {
        chunks.put(key, state);
        if (chunks.replaying()) {
            return;
        }
        long booked = anchored ? chunks.writeBook(key, job, state) : 0;
        ManifestStamp manifest = manifestStamps.get(job);
        long start = manifest != null && manifest.generation() == chunk.getGeneration() && manifest.step() == chunk.getStep()
                ? Math.min(manifest.stamp(), stamp) : stamp;
        // this chunk's share of the step's content digest: what it reconstructs to after the step ({@code checksum})
        Outputs.progress(context, stamp, job, new StepComplete(job, chunk.getGeneration(), chunk.getStep(), chunk.getStepChunks(),
                encodedBytes, rawBytes, superstep, booked, start, StepDigest.chunkContribution(chunk.getTensor(), chunk.getChunk(), checksum),
                state.supersteps.get(state.supersteps.size() - 1).stamp(), state.supersteps.get(0).step()));
    }


    void deadLetter(long stamp, Record<byte[], byte[]> record, RecordMetadata source, String job, RawDeltaChunk chunk, String reason) {
        if (chunks.replaying()) {
            return;
        }
        deadLetters.record(1);
        byte[] value = record.value();
        boolean whole = value == null || value.length <= deadLetterLimit;
        String fullReason = whole ? reason : reason + " (the record is " + value.length + " bytes: its first " + deadLetterLimit + " are kept)";
        String own = topics.deadLetters(job);
        Outputs.deadLetter(context, wire, stamp, new DeadLetter(job,
                chunk == null ? null : chunk.getGeneration(), chunk == null ? null : chunk.getStep(),
                chunk == null ? null : chunk.getTensor(), chunk == null ? null : chunk.getChunk(), fullReason,
                source.topic(), source.partition(), source.offset(),
                value == null ? null : ByteBuffer.wrap(value, 0, Math.min(value.length, deadLetterLimit)).slice()),
                topicCheck.exists(own) ? own : topics.encoderDeadLetters());
    }
}
