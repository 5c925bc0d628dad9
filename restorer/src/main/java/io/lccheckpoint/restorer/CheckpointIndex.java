package io.lccheckpoint.restorer;

import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.SuperstepChunk;
import io.lccheckpoint.schema.TensorInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.apache.avro.specific.SpecificRecord;

/**
 * A job's checkpoint topic as compaction would leave it: the last value per key, tombstones removing; manifests and step
 * markers by generation and step, supersteps and coded records by chunk. With a target it keeps only what rebuilding
 * that step can use.
 */
final class CheckpointIndex {
    /** With a target, only what rebuilding that step can use is kept (a bounded heap); null keeps every record. */
    final Restorer.Plan target;
    /** Supersteps that failed their checksum while read (targeted reads keep only valid ones). */
    final List<String> corruptSupersteps = new ArrayList<>();
    final Map<List<Long>, StepManifest> manifests = new HashMap<>();
    final TreeMap<Long, NavigableMap<Long, StepComplete>> markers = new TreeMap<>();
    final Map<String, NavigableMap<Long, SuperstepChunk>> supersteps = new HashMap<>();
    final Map<String, NavigableMap<Long, EncodedChunkRecord>> encoded = new HashMap<>();
    long records;
    long bytes;

    CheckpointIndex() {
        this(null);
    }

    CheckpointIndex(Restorer.Plan target) {
        this.target = target;
    }

    void accept(CheckpointKey key, SpecificRecord value) {
        long generation = key.getGeneration();
        long step = key.getStep();
        if (target != null && (key.getKind() == RecordKind.SUPERSTEP_CHUNK || key.getKind() == RecordKind.ENCODED_CHUNK)
                && (generation != target.generation() || step > target.step())) {
            return;
        }
        if (target != null && key.getKind() == RecordKind.SUPERSTEP_CHUNK) {
            acceptTargeted(key, (SuperstepChunk) value);
            return;
        }
        switch (key.getKind()) {
            case MANIFEST -> put(manifests, List.of(generation, step), (StepManifest) value);
            case STEP_COMPLETE -> put(markers.computeIfAbsent(generation, g -> new TreeMap<>()), step, (StepComplete) value);
            case SUPERSTEP_CHUNK -> put(supersteps.computeIfAbsent(chunkKey(key.getTensor(), key.getChunk(), generation), k -> new TreeMap<>()),
                    step, (SuperstepChunk) value);
            case ENCODED_CHUNK -> put(encoded.computeIfAbsent(chunkKey(key.getTensor(), key.getChunk(), generation), k -> new TreeMap<>()),
                    step, (EncodedChunkRecord) value);
        }
    }

    private static <K, V> void put(Map<K, V> map, K key, V value) {
        if (value == null) {
            map.remove(key);
        } else {
            map.put(key, value);
        }
    }

    /**
     * A targeted read holds one superstep per chunk: the newest at or before the step whose checksum holds, checked as
     * it is read (a corrupt newer one leaves the older in place, named). So a restore holds about one copy of the
     * model in records, released chunk by chunk as the values are rebuilt.
     */
    private void acceptTargeted(CheckpointKey key, SuperstepChunk value) {
        String chunk = chunkKey(key.getTensor(), key.getChunk(), key.getGeneration());
        NavigableMap<Long, SuperstepChunk> held = supersteps.computeIfAbsent(chunk, k -> new TreeMap<>());
        if (value == null) {
            held.remove(key.getStep());
            return;
        }
        if (!held.isEmpty() && held.lastKey() > key.getStep()) {
            return;
        }
        try {
            StepRebuilder.superstepValues(value, value.getDtype(), "tensor " + key.getTensor() + ", chunk " + key.getChunk() + " (generation " + key.getGeneration() + ")");
        } catch (RestoreException e) {
            corruptSupersteps.add(e.getMessage());
            return;
        }
        held.clear();
        held.put(key.getStep(), value);
    }

    /** Bytes of the superstep values held for a generation (a targeted read releases them as it rebuilds). */
    long heldSuperstepBytes(long generation) {
        long bytes = 0;
        for (NavigableMap<Long, SuperstepChunk> held : supersteps.values()) {
            for (SuperstepChunk superstep : held.values()) {
                if (superstep.getGeneration() == generation) {
                    bytes += superstep.getValues().remaining();
                }
            }
        }
        return bytes;
    }

    /** As far as the records held can tell without decoding: the manifest, a base superstep and the step's record per chunk. */
    boolean restorable(long generation, long step) {
        StepManifest manifest = manifests.get(List.of(generation, step));
        if (manifest == null) {
            return false;
        }
        for (TensorInfo info : manifest.getTensors()) {
            for (int chunk = 0; chunk < info.getChunkCount(); chunk++) {
                NavigableMap<Long, SuperstepChunk> held = supersteps.get(chunkKey(info.getName(), chunk, generation));
                Long base = held == null ? null : held.floorKey(step);
                if (base == null) {
                    return false;
                }
                NavigableMap<Long, EncodedChunkRecord> chain = encoded.get(chunkKey(info.getName(), chunk, generation));
                if (base != step && (chain == null || !chain.containsKey(step))) {
                    return false;
                }
            }
        }
        return true;
    }

    String describeSteps() {
        List<String> parts = new ArrayList<>();
        markers.forEach((generation, steps) -> {
            List<Long> restorable = steps.keySet().stream().filter(step -> restorable(generation, step)).toList();
            if (!restorable.isEmpty()) {
                parts.add("generation " + generation + ": " + restorable.get(0) + ".." + restorable.get(restorable.size() - 1)
                        + " (" + restorable.size() + ")");
            }
        });
        return parts.isEmpty() ? "none" : String.join("; ", parts);
    }

    /** A chunk's key in the index: tensor, chunk and generation. */
    static String chunkKey(String tensor, int chunk, long generation) {
        return tensor + '\u0000' + chunk + '\u0000' + generation;
    }
}
