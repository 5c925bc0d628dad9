package io.lccheckpoint.encoder;

import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts the coded chunks of each step (the progress topic is keyed by job, so one task sees all of a job's chunks)
 * and writes the step-complete marker when every chunk of every tensor is coded (DESIGN.md §3). With exactly-once
 * processing the progress notices are committed together with the encoded chunks, so a marker never precedes them.
 * Also tombstones markers and manifests of steps no retained superstep can restore. Markers go to the job's small index
 * topic too, with the earliest timestamp of the step's chunks, so a restore can seek to its superstep (pushdown).
 */
final class CompletionProcessor implements Processor<byte[], byte[], byte[], byte[]> {
    static final String STORE = "lcckpt-step-progress";
    private static final Logger LOG = LoggerFactory.getLogger(CompletionProcessor.class);

    private static final int TOTALS_BYTES = 63;
    private final int superstepRetain;
    private final WireFormat wire;
    private ProcessorContext<byte[], byte[]> context;
    private KeyValueStore<String, byte[]> store;

    private final TaskHeartbeats heartbeats;
    private String taskName;

    CompletionProcessor(WireFormat wire, int superstepRetain, TaskHeartbeats heartbeats) {
        this.wire = wire;
        this.superstepRetain = superstepRetain;
        this.heartbeats = heartbeats;
    }

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
        this.context = context;
        this.store = context.getStateStore(STORE);
        this.taskName = heartbeats.watch(context, "complete");
    }

    @Override
    public void close() {
        heartbeats.remove(taskName);
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        StepComplete notice = (StepComplete) SingleObjectSerde.decode(record.value());
        String job = new String(record.key(), StandardCharsets.UTF_8);
        String key = job + '\u0000' + notice.getGeneration() + '\u0000' + notice.getStep();
        byte[] stored = store.get(key);
        // count, encoded, raw, state bytes, superstep flag, first timestamp, digest, digest-known flag, base timestamp (min),
        // restorable-from (max), bases-known flag (little-endian)
        ByteBuffer totals = stored == null
                ? ByteBuffer.allocate(TOTALS_BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(29, Long.MAX_VALUE).put(45, (byte) 1)
                        .putLong(46, Long.MAX_VALUE).putLong(54, Long.MIN_VALUE).put(62, (byte) 1)
                : ByteBuffer.wrap(java.util.Arrays.copyOf(stored, TOTALS_BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        if (stored != null && stored.length == 29) {
            totals.putLong(29, -1); // counted before the start timestamp was kept: unknown
        }
        int count = totals.getInt(0) + 1;
        long encoded = totals.getLong(4) + notice.getEncodedBytes();
        long raw = totals.getLong(12) + notice.getRawBytes();
        long state = totals.getLong(20) + notice.getStateBytes();
        boolean superstep = totals.get(28) != 0 || notice.getSuperstep();
        long first = totals.getLong(29);
        // the earliest time a chunk of the step stamped on its outputs (read before its first output: not later than any)
        long startTimestamp = first < 0 || notice.getStartTimestamp() < 0 ? -1 : Math.min(first, notice.getStartTimestamp());
        // counted before digests were kept (shorter totals), or a notice without one: the marker carries none
        boolean digestKnown = totals.get(45) != 0 && notice.getDigest() != null;
        long digest = digestKnown ? totals.getLong(37) + notice.getDigest() : 0;
        // where a restore of the step seeks (the earliest of its chunks' newest supersteps) and the oldest step a restore can
        // rebuild (the newest of its chunks' oldest supersteps): chunks take supersteps at steps of their own (SuperstepPolicy)
        boolean basesKnown = totals.get(62) != 0 && notice.getBaseTimestamp() != null && notice.getRestorableFrom() != null;
        long baseTimestamp = basesKnown ? Math.min(totals.getLong(46), notice.getBaseTimestamp()) : 0;
        long restorableFrom = basesKnown ? Math.max(totals.getLong(54), notice.getRestorableFrom()) : 0;
        long now = System.currentTimeMillis();
        if (count < notice.getChunks()) {
            totals.putInt(0, count).putLong(4, encoded).putLong(12, raw).putLong(20, state).put(28, (byte) (superstep ? 1 : 0)).putLong(29, startTimestamp)
                    .putLong(37, digest).put(45, (byte) (digestKnown ? 1 : 0))
                    .putLong(46, baseTimestamp).putLong(54, restorableFrom).put(62, (byte) (basesKnown ? 1 : 0));
            store.put(key, totals.array());
            return;
        }
        store.delete(key);
        StepComplete marker = new StepComplete(job, notice.getGeneration(), notice.getStep(), count, encoded, raw, superstep, state, startTimestamp,
                digestKnown ? digest : null, basesKnown ? baseTimestamp : null, basesKnown ? restorableFrom : null);
        io.lccheckpoint.schema.CheckpointKey markerKey = Outputs.key(job, RecordKind.STEP_COMPLETE, "", -1, notice.getGeneration(), notice.getStep());
        Outputs.checkpoint(context, wire, Outputs.MARKER_SINK, now, markerKey, marker);
        Outputs.checkpoint(context, wire, Outputs.INDEX_SINK, now, markerKey, marker);
        LOG.info("job {} generation {} step {} complete: {} chunks, {} checkpoint bytes vs {} raw ({}x){}, {} bytes to the state changelog",
                job, notice.getGeneration(), notice.getStep(), count, encoded, raw, String.format("%.1f", raw / (double) Math.max(1, encoded)),
                superstep ? " incl. superstep" : "", state);
        retain(now, job, notice.getGeneration(), notice.getStep(), superstep, basesKnown ? restorableFrom : null);
    }

    /**
     * Keeps markers and manifests of restorable steps only: those at or after the oldest retained superstep. Per job and
     * generation it keeps the retained supersteps and the completed steps since the oldest, as runs (StepRuns): a few
     * dozen bytes, not 8 per step, written at every completed step (issue #12). A step completed after a later one (its
     * chunks came through slower tasks) is kept apart.
     */
    private void retain(long timestamp, String job, long generation, long step, boolean superstep, Long restorableFrom) {
        String key = job + '\u0000' + generation + "\u0000retained";
        String legacyKey = job + '\u0000' + generation + "\u0000meta";
        List<Long> supersteps = new ArrayList<>();
        StepRuns completed = new StepRuns();
        List<Long> late = new ArrayList<>();
        byte[] stored = store.get(key);
        if (stored != null) {
            ByteBuffer buffer = ByteBuffer.wrap(stored).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = buffer.getInt(); i > 0; i--) {
                supersteps.add(buffer.getLong());
            }
            completed = StepRuns.readFrom(buffer);
            for (int i = buffer.getInt(); i > 0; i--) {
                late.add(buffer.getLong());
            }
        } else if ((stored = store.get(legacyKey)) != null) {
            // before issue #12: the completed steps as a list
            ByteBuffer buffer = ByteBuffer.wrap(stored).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = buffer.getInt(); i > 0; i--) {
                supersteps.add(buffer.getLong());
            }
            List<Long> steps = new ArrayList<>();
            for (int i = buffer.getInt(); i > 0; i--) {
                steps.add(buffer.getLong());
            }
            steps.stream().sorted().forEach(completed::add);
            store.delete(legacyKey);
        }
        if (step > completed.last(Long.MIN_VALUE)) {
            completed.add(step);
        } else {
            late.add(step);
        }
        if (superstep) {
            supersteps.add(step);
            supersteps.sort(null);
            while (supersteps.size() > superstepRetain) {
                supersteps.remove(0);
            }
        }
        // the oldest restorable step: as every chunk says (by bytes, chunks take supersteps at steps of their own), or
        // from the job's supersteps (markers of encoders before that)
        Long oldestRestorable = restorableFrom != null ? restorableFrom : superstep ? supersteps.get(0) : null;
        if (oldestRestorable != null) {
            long oldest = oldestRestorable;
            completed.removeUpTo(oldest - 1, old -> forget(timestamp, job, generation, old));
            late.removeIf(old -> {
                if (old < oldest) {
                    forget(timestamp, job, generation, old);
                    return true;
                }
                return false;
            });
        }
        ByteBuffer buffer = ByteBuffer.allocate(4 + 8 * supersteps.size() + completed.serializedSize() + 4 + 8 * late.size()).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(supersteps.size());
        supersteps.forEach(buffer::putLong);
        completed.writeTo(buffer);
        buffer.putInt(late.size());
        late.forEach(buffer::putLong);
        store.put(key, buffer.array());
    }

    /** Tombstones an unrestorable step's marker (checkpoint and index topics) and manifest. */
    private void forget(long timestamp, String job, long generation, long step) {
        Outputs.checkpoint(context, wire, Outputs.MARKER_SINK, timestamp, Outputs.key(job, RecordKind.STEP_COMPLETE, "", -1, generation, step), null);
        Outputs.checkpoint(context, wire, Outputs.INDEX_SINK, timestamp, Outputs.key(job, RecordKind.STEP_COMPLETE, "", -1, generation, step), null);
        Outputs.checkpoint(context, wire, Outputs.MARKER_SINK, timestamp, Outputs.key(job, RecordKind.MANIFEST, "", -1, generation, step), null);
    }
}
