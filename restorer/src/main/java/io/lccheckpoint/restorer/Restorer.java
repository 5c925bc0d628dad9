package io.lccheckpoint.restorer;

import io.lccheckpoint.codec.Checksums;
import io.lccheckpoint.codec.ChunkDecoder;
import io.lccheckpoint.codec.CodecException;
import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.SuperstepChunk;
import io.lccheckpoint.schema.TensorInfo;
import io.lccheckpoint.schema.kafka.Topics;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Rebuilds a complete step of a job (DESIGN.md §5): reads the job's checkpoint topic ({@code read_committed}, no consumer
 * group, nothing of any other job), takes for every chunk the newest superstep at or before the step and applies the
 * encoded chunks after it in order. Every chunk record carries the checksum of the state it leads to, so a gap or a
 * record applied to the wrong state is caught; superstep values carry their own checksum.
 *
 * <p>Restore pushdown (DESIGN.md §6, on unless {@code lcckpt.restore.pushdown=false}): the restorer first reads the job's
 * small index topic (the step-complete markers), picks the step and its base superstep, and seeks every partition of the
 * checkpoint topic to that superstep's first record ({@code offsetsForTimes}), so it transfers one superstep and the
 * tail after it instead of everything retained ({@code lcckpt.restore.seek.margin.ms}, 1000 by default, earlier to allow
 * for clocks that disagree). If that partial read cannot rebuild the step (no index yet, a marker
 * from before timestamps were kept, clocks that went backwards), it reads the whole topic as before.
 *
 * <p>Settings: {@link RestorerSettings} ({@code lcckpt.topic.prefix}, {@code lcckpt.restore.pushdown}, {@code lcckpt.restore.seek.margin.ms},
 * {@code lcckpt.restore.threads}) and any Kafka consumer setting ({@code bootstrap.servers},
 * {@code security.protocol}, {@code sasl.*}, {@code ssl.*}, {@code client.id}, …), passed through unchanged.
 */
public final class Restorer {
    /** Progress of a restore: what it is doing, done and total units. */
    public interface Progress {
        void update(String phase, long done, long total);
    }

    private final Map<String, Object> kafka = new HashMap<>();
    private final Topics topics;
    private final WireFormat wire;
    private final boolean pushdown;
    private final long seekMarginMillis;
    /** Chunks rebuilt at once ({@code lcckpt.restore.threads}, default: every core; a restore is a batch job). */
    private final int threads;

    /** @throws org.apache.kafka.common.config.ConfigException naming the setting, for a bad {@code lcckpt.*} value */
    public Restorer(Map<String, ?> config) {
        RestorerSettings settings = new RestorerSettings(config);
        this.pushdown = settings.getBoolean(RestorerSettings.PUSHDOWN_CONFIG);
        this.seekMarginMillis = settings.getLong(RestorerSettings.SEEK_MARGIN_MS_CONFIG);
        this.threads = settings.threads();
        this.topics = new Topics(settings.getString(RestorerSettings.TOPIC_PREFIX_CONFIG));
        this.wire = WireFormat.fromConfig(config);
        kafka.putAll(settings.kafkaSettings());
        kafka.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        kafka.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        kafka.remove(ConsumerConfig.GROUP_ID_CONFIG);
        // the restore's heap is one copy of the model plus these buffers (issue #11: 1.5x the model + 64 MiB at most): a
        // fetch of at most 16 MiB, and few records parsed out of it at a time (superstep records are up to a few MiB each)
        kafka.putIfAbsent(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 << 20);
        kafka.putIfAbsent(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 16 << 20);
        kafka.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 16);
    }

    /**
     * The step-complete markers of the job's restorable steps, oldest generation and step first: a marker counts only if
     * the topic still holds its manifest and, for every chunk, a superstep at or before it and the chunk's record of that
     * step (a resumed run's older generation keeps markers whose chunks were removed).
     */
    public List<StepComplete> completedSteps(String job) {
        Index index = read(job, (phase, done, total) -> { }, -1, null);
        List<StepComplete> steps = new ArrayList<>();
        index.markers.forEach((generation, markers) -> markers.values().forEach(marker -> {
            if (index.restorable(generation, marker.getStep())) {
                steps.add(marker);
            }
        }));
        return steps;
    }

    /**
     * The latest restorable step of the newest generation: newer complete steps that cannot be rebuilt (a record
     * missing or corrupt) are passed over and named in {@link RestoredState#passedOver()}.
     */
    public RestoredState restoreLatest(String job, Progress progress) {
        return restore(job, OptionalLong.empty(), progress);
    }

    public RestoredState restore(String job, long step, Progress progress) {
        return restore(job, OptionalLong.of(step), progress);
    }

    private RestoredState restore(String job, OptionalLong wanted, Progress progress) {
        try {
            return restoreOrRunOutOfMemory(job, wanted, progress);
        } catch (OutOfMemoryError e) {
            throw new RestoreException("job " + job + ": ran out of heap at -Xmx" + Runtime.getRuntime().maxMemory() / (1 << 20) + "m: a restore"
                    + " holds about one copy of the step's values plus fetch buffers (16 MiB), with ParallelGC (./lcckpt restore uses it;"
                    + " G1 needs about twice as much); run it with a larger -Xmx (JAVA_TOOL_OPTIONS=-Xmx...)", e);
        }
    }

    private RestoredState restoreOrRunOutOfMemory(String job, OptionalLong wanted, Progress progress) {
        long start = System.nanoTime();
        Progress reporting = progress == null ? (phase, done, total) -> { } : progress;
        if (pushdown) {
            Plan plan = plan(job, wanted);
            if (plan != null) {
                // the encoder stamps its records with the time it made them; the margin covers clocks of several
                // encoder instances and brokers that disagree a little
                Index targeted = read(job, reporting, plan.fromTimestamp() < 0 ? -1 : Math.max(0, plan.fromTimestamp() - seekMarginMillis), plan);
                try {
                    // exactly the step the index names: what a targeted read misses may lie before the seek or among the
                    // records it left out, and the whole topic decides (and passes steps over if it must)
                    return rebuild(job, targeted, OptionalLong.of(plan.step()), progress, start, threads);
                } catch (RestoreException e) {
                    reporting.update("the targeted read was not enough (" + e.getMessage() + "); reading the whole topic", 0, 1);
                }
            }
        }
        Index index = read(job, reporting, -1, null);
        return rebuild(job, index, wanted, progress, start, threads);
    }

    /**
     * What a restore targets, from the job's small index topic: the generation and step (the one wanted, or the newest)
     * and the first timestamp of its base superstep (-1 if unknown: the whole topic is read, still keeping only what
     * the step needs).
     */
    record Plan(long generation, long step, long fromTimestamp) {
    }

    /** The plan, or null if the index topic cannot tell (missing, no marker for the step). */
    private Plan plan(String job, OptionalLong wanted) {
        String topic = topics.index(job);
        TreeMap<Long, NavigableMap<Long, StepComplete>> markers = new TreeMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(kafka, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<PartitionInfo> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30));
            if (partitions == null || partitions.isEmpty()) {
                return null;
            }
            List<TopicPartition> assigned = partitions.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(assigned);
            consumer.seekToBeginning(assigned);
            Map<TopicPartition, Long> end = consumer.endOffsets(assigned);
            while (!reachedEnd(consumer, end)) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    CheckpointKey key = (CheckpointKey) wire.decode(record.key());
                    if (key.getJob().equals(job) && key.getKind() == RecordKind.STEP_COMPLETE) {
                        NavigableMap<Long, StepComplete> steps = markers.computeIfAbsent(key.getGeneration(), g -> new TreeMap<>());
                        if (record.value() == null) {
                            steps.remove(key.getStep());
                        } else {
                            steps.put(key.getStep(), (StepComplete) wire.decode(record.value()));
                        }
                    }
                }
            }
        } catch (org.apache.kafka.common.KafkaException e) {
            return null;
        }
        for (Map.Entry<Long, NavigableMap<Long, StepComplete>> entry : markers.descendingMap().entrySet()) {
            NavigableMap<Long, StepComplete> steps = entry.getValue();
            if (wanted.isPresent() ? steps.containsKey(wanted.getAsLong()) : !steps.isEmpty()) {
                long step = wanted.isPresent() ? wanted.getAsLong() : steps.lastKey();
                StepComplete target = steps.get(step);
                if (target.getBaseTimestamp() != null) {
                    // the earliest of the step's chunks' newest supersteps (they take them at steps of their own), or the
                    // step's own start if earlier: its manifest is written before its chunks (and their supersteps)
                    long start = target.getStartTimestamp() >= 0 ? Math.min(target.getStartTimestamp(), target.getBaseTimestamp()) : target.getBaseTimestamp();
                    return new Plan(entry.getKey(), step, start);
                }
                for (StepComplete marker : steps.headMap(step, true).descendingMap().values()) {
                    if (marker.getSuperstep()) {
                        return new Plan(entry.getKey(), step, marker.getStartTimestamp());
                    }
                }
                return new Plan(entry.getKey(), step, -1);
            }
        }
        return null;
    }

    /** As {@link #rebuild(String, List, OptionalLong)}, with a targeted read's index (what the index topic named). */
    static RestoredState rebuildTargeted(String job, List<Map.Entry<CheckpointKey, SpecificRecord>> records, long generation, long step) {
        Index index = new Index(new Plan(generation, step, -1));
        for (Map.Entry<CheckpointKey, SpecificRecord> record : records) {
            index.records++;
            index.accept(record.getKey(), record.getValue());
        }
        return rebuild(job, index, OptionalLong.of(step), null, System.nanoTime(), 1);
    }

    /** Rebuilds from records already read (key, value or null for a tombstone), in topic order: for tests without a broker. */
    static RestoredState rebuild(String job, List<Map.Entry<CheckpointKey, SpecificRecord>> records, OptionalLong wanted) {
        return rebuild(job, records, wanted, 1);
    }

    static RestoredState rebuild(String job, List<Map.Entry<CheckpointKey, SpecificRecord>> records, OptionalLong wanted, int threads) {
        Index index = new Index();
        for (Map.Entry<CheckpointKey, SpecificRecord> record : records) {
            index.records++;
            index.accept(record.getKey(), record.getValue());
        }
        return rebuild(job, index, wanted, null, System.nanoTime(), threads);
    }

    private static RestoredState rebuild(String job, Index index, OptionalLong wanted, Progress progress, long start, int threads) {
        String topic = "the checkpoint topic of job " + job;
        if (wanted.isPresent()) {
            // the newest generation with a complete marker there (a resumed generation owns the steps after its start)
            for (Map.Entry<Long, NavigableMap<Long, StepComplete>> entry : index.markers.descendingMap().entrySet()) {
                if (entry.getValue().containsKey(wanted.getAsLong())) {
                    return rebuildStep(job, index, entry.getKey(), wanted.getAsLong(), progress, start, new ArrayList<>(), threads);
                }
            }
            throw new RestoreException("job " + job + ": step " + wanted.getAsLong() + " is not a complete, retained step; restorable steps: "
                    + index.describeSteps());
        }
        // the latest: newest generation first, newest step first; a step that cannot be rebuilt is passed over, named
        List<String> passedOver = new ArrayList<>();
        for (Map.Entry<Long, NavigableMap<Long, StepComplete>> entry : index.markers.descendingMap().entrySet()) {
            for (long step : entry.getValue().descendingKeySet()) {
                try {
                    return rebuildStep(job, index, entry.getKey(), step, progress, start, passedOver, threads);
                } catch (RestoreException e) {
                    passedOver.add("step " + step + " (generation " + entry.getKey() + "): " + e.getMessage());
                }
            }
        }
        if (passedOver.isEmpty()) {
            throw new RestoreException("job " + job + ": no complete step in " + topic
                    + " (if the trainer published, look at the job's dead-letter topic and the encoder's <prefix>.encoder-dead-letters)");
        }
        throw new RestoreException("job " + job + ": no complete step can be rebuilt:\n  " + String.join("\n  ", passedOver));
    }

    private static RestoredState rebuildStep(String job, Index index, long generation, long step, Progress progress, long start,
                                             List<String> passedOver, int threads) {
        StepManifest manifest = index.manifests.get(List.of(generation, step));
        if (manifest == null) {
            throw new RestoreException("job " + job + ": the manifest of generation " + generation + " step " + step + " is missing");
        }
        String altered = io.lccheckpoint.schema.StepDigest.checkManifest(manifest);
        if (altered != null) {
            throw new RestoreException("job " + job + ": " + altered);
        }
        checkFits(job, step, manifest, index.target != null ? index.heldSuperstepBytes(generation) : 0);
        StepComplete marker = index.markers.get(generation).get(step);
        long chunks = manifest.getTensors().stream().mapToLong(TensorInfo::getChunkCount).sum();
        if (marker != null && marker.getChunks() != chunks) {
            throw new RestoreException("job " + job + ": step " + step + "'s marker counts " + marker.getChunks() + " coded chunks, its manifest "
                    + chunks + ": they do not describe the same step");
        }
        try {
            RestoredState state = rebuildStep(job, index, manifest, generation, step, progress, start, passedOver, threads);
            if (marker != null && marker.getDigest() != null && state.digest() != marker.getDigest()) {
                throw new RestoreException(String.format("job %s: step %d rebuilt to content digest %016x, but the encoder recorded %016x for it:"
                        + " a record of the step is not the one the encoder wrote", job, step, state.digest(), marker.getDigest()));
            }
            return state;
        } catch (OutOfMemoryError e) {
            throw new RestoreException("job " + job + ": step " + step + " needs about " + neededBytes(manifest) / (1 << 20) + " MiB of heap for its "
                    + "values, and more to read them; this JVM ran out at -Xmx" + Runtime.getRuntime().maxMemory() / (1 << 20) + "m: run it with a larger"
                    + " -Xmx (JAVA_TOOL_OPTIONS=-Xmx...)", e);
        }
    }

    /** Bytes of the restored values: what a manifest's shapes ask the restorer to allocate. */
    private static long neededBytes(StepManifest manifest) {
        long bytes = 0;
        for (TensorInfo info : manifest.getTensors()) {
            long length = 1;
            for (long dimension : info.getShape()) {
                length *= dimension;
            }
            bytes += length * (info.getDtype() == DType.FLOAT32 ? 4 : 8);
        }
        return bytes;
    }

    /**
     * Before anything is allocated from a manifest's shapes: they must be sane, agree with the chunking, and fit in this
     * JVM's heap (a clear error with the size needed, not an OutOfMemoryError).
     */
    private static void checkFits(String job, long step, StepManifest manifest, long released) {
        for (TensorInfo info : manifest.getTensors()) {
            long length = 1;
            for (long dimension : info.getShape()) {
                if (dimension < 0 || (dimension > 0 && length > Integer.MAX_VALUE / dimension)) {
                    throw new RestoreException("job " + job + ", step " + step + ", tensor " + info.getName() + ": the manifest's shape " + info.getShape()
                            + " is not a tensor this restorer can hold (negative, or more than 2^31 values)");
                }
                length *= dimension;
            }
            long chunks = info.getChunkCount();
            if (info.getChunkSize() <= 0 || chunks < 0 || (chunks - 1) * (long) info.getChunkSize() >= Math.max(1, length)
                    || chunks * (long) info.getChunkSize() < length) {
                throw new RestoreException("job " + job + ", step " + step + ", tensor " + info.getName() + ": the manifest's shape " + info.getShape()
                        + " does not agree with its " + chunks + " chunks of " + info.getChunkSize() + " values");
            }
        }
        // what the restore adds to the heap: the values, less the superstep bytes a targeted read releases as it goes
        long needed = Math.max(0, neededBytes(manifest) - released);
        Runtime runtime = Runtime.getRuntime();
        long available = runtime.maxMemory() - (runtime.totalMemory() - runtime.freeMemory());
        if (needed > available) {
            System.gc();
            available = runtime.maxMemory() - (runtime.totalMemory() - runtime.freeMemory());
        }
        if (needed > available) {
            throw new RestoreException("job " + job + ": step " + step + " needs " + needed / (1 << 20) + " MiB of heap for its values, but only "
                    + available / (1 << 20) + " MiB of -Xmx" + runtime.maxMemory() / (1 << 20) + "m are free: run with a larger -Xmx"
                    + " (JAVA_TOOL_OPTIONS=-Xmx...)");
        }
    }

    /** A chunk to rebuild: its supersteps and coded records (of the generation), taken out of the index. */
    private record ChunkWork(TensorInfo info, int chunk, long length, String where, NavigableMap<Long, SuperstepChunk> supersteps,
                             NavigableMap<Long, EncodedChunkRecord> encoded) {
    }

    /** A rebuilt chunk: its values, the superstep it started from, the records applied, corrupt supersteps passed over. */
    private record Rebuilt(Object values, long base, long deltas, long digest, List<String> corrupt) {
    }

    /**
     * Rebuilds every chunk of the step, {@link #threads} at a time. Chunks are independent and each is rebuilt as the
     * sequential loop would (the same records in the same order), and the results are taken in manifest order: the
     * values, the digest and the first error reported do not depend on the thread count.
     */
    private static RestoredState rebuildStep(String job, Index index, StepManifest manifest, long generation, long step, Progress progress,
                                             long start, List<String> passedOver, int threads) {
        Map<String, RestoredState.Tensor> tensors = new LinkedHashMap<>();
        long totalChunks = manifest.getTensors().stream().mapToLong(TensorInfo::getChunkCount).sum();
        index.corruptSupersteps.forEach(reason -> passedOver.add(reason + ": rebuilt from an older superstep"));
        java.util.concurrent.ExecutorService pool = threads == 1 ? null : java.util.concurrent.Executors.newFixedThreadPool(threads, runnable -> {
            Thread thread = new Thread(runnable, "lcckpt-restore-" + job);
            thread.setDaemon(true);
            return thread;
        });
        ThreadLocal<ChunkDecoder> decoders = ThreadLocal.withInitial(ChunkDecoder::new);
        try {
            List<java.util.concurrent.Future<Rebuilt>> pending = new ArrayList<>();
            List<ChunkWork> work = new ArrayList<>();
            for (TensorInfo info : manifest.getTensors()) {
                long length = 1;
                for (Long dimension : info.getShape()) {
                    length *= dimension;
                }
                for (int chunk = 0; chunk < info.getChunkCount(); chunk++) {
                    String key = chunkKey(info.getName(), chunk, generation);
                    // a targeted read rebuilds this step only: the superstep's bytes go with the task once it has run
                    NavigableMap<Long, SuperstepChunk> supersteps = index.target != null ? index.supersteps.remove(key) : index.supersteps.get(key);
                    ChunkWork chunkWork = new ChunkWork(info, chunk, length, "job " + job + ", tensor " + info.getName() + ", chunk " + chunk
                            + " (generation " + generation + ")", supersteps == null ? new TreeMap<>() : supersteps,
                            index.encoded.getOrDefault(key, new TreeMap<>()));
                    if (pool != null) {
                        pending.add(pool.submit(() -> rebuildChunk(chunkWork, step, decoders.get())));
                    } else {
                        work.add(chunkWork);
                    }
                }
            }
            long chunksDone = 0;
            long deltas = 0;
            long superstepUsed = Long.MIN_VALUE;
            long digest = 0;
            int next = 0;
            for (TensorInfo info : manifest.getTensors()) {
                long[] shape = new long[info.getShape().size()];
                for (int d = 0; d < shape.length; d++) {
                    shape[d] = info.getShape().get(d);
                }
                List<Object> values = new ArrayList<>(info.getChunkCount());
                for (int chunk = 0; chunk < info.getChunkCount(); chunk++, next++) {
                    // (a chunk's work is let go as it is taken, with its superstep's bytes)
                    Rebuilt rebuilt = pool == null ? rebuildChunk(work.set(next, null), step, decoders.get()) : await(pending.set(next, null));
                    rebuilt.corrupt().forEach(reason -> passedOver.add(reason + ": rebuilt from an older superstep"));
                    superstepUsed = Math.max(superstepUsed, rebuilt.base());
                    deltas += rebuilt.deltas();
                    digest += rebuilt.digest();
                    // the chunk's rebuilt array is the tensor's (no copy): with its superstep's bytes released, the heap
                    // holds about one copy of the model as the restore goes
                    values.add(rebuilt.values());
                    progress(progress, "rebuilding", ++chunksDone, totalChunks);
                }
                tensors.put(info.getName(), new RestoredState.Tensor(info.getName(), shape, info.getDtype(), values));
            }
            return new RestoredState(job, generation, step, tensors, index.records, index.bytes, superstepUsed, deltas,
                    Duration.ofNanos(System.nanoTime() - start), List.copyOf(passedOver), digest);
        } finally {
            if (pool != null) {
                pool.shutdownNow();
            }
        }
    }

    private static Rebuilt await(java.util.concurrent.Future<Rebuilt> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RestoreException("interrupted while rebuilding", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw new RestoreException(e.getCause().getMessage(), e.getCause());
        }
    }

    /** One chunk at the step: its newest usable superstep at or before it, then its coded records up to it, chain-checked. */
    private static Rebuilt rebuildChunk(ChunkWork work, long step, ChunkDecoder decoder) {
        String where = work.where();
        NavigableMap<Long, SuperstepChunk> supersteps = work.supersteps();
        NavigableMap<Long, EncodedChunkRecord> encoded = work.encoded();
        if (supersteps.floorKey(step) == null) {
            throw new RestoreException(where + ": no superstep at or before step " + step + " (supersteps held: " + supersteps.keySet() + ")");
        }
        if (step != supersteps.floorKey(step) && !encoded.containsKey(step)) {
            throw new RestoreException(where + ": the encoded chunk of step " + step + " is missing");
        }
        // the newest superstep at or before the step; a corrupt one is passed over for an older one when the
        // chain from there is still held (every record after it carries the checksum of what it leads to)
        Object state = null;
        long base = -1;
        // the XXH64 of the state as rebuilt so far, checked already: the superstep's, then each applied record's
        long stateChecksum = 0;
        List<String> corrupt = new ArrayList<>();
        for (SuperstepChunk candidate : supersteps.headMap(step, true).descendingMap().values()) {
            try {
                state = superstepValues(candidate, work.info().getDtype(), where);
                base = candidate.getStep();
                stateChecksum = candidate.getChecksum();
                break;
            } catch (RestoreException e) {
                corrupt.add(e.getMessage());
            }
        }
        if (state == null) {
            throw new RestoreException(String.join("; ", corrupt) + (corrupt.size() > 1 ? "" : " (no older superstep to rebuild from)"));
        }
        long previous = base;
        long deltas = 0;
        for (EncodedChunkRecord record : encoded.subMap(base, false, step, true).values()) {
            if (record.getPreviousStep() != null && record.getPreviousStep() != previous) {
                throw new RestoreException(where + ": the record of step " + record.getStep() + " follows step " + record.getPreviousStep()
                        + ", but the chain was rebuilt up to step " + previous + ": the records between them are missing");
            }
            try {
                byte[] bytes = bytes(record.getCodec());
                if (state instanceof float[] floats) {
                    decoder.apply(bytes, floats);
                } else {
                    decoder.apply(bytes, (double[]) state);
                }
                // apply checked the state it made against the record's checksum
                stateChecksum = ChunkDecoder.stateChecksum(bytes);
            } catch (CodecException e) {
                throw new RestoreException(where + ": step " + record.getStep() + " does not apply to the state rebuilt up to step " + previous
                        + " (" + e.getMessage() + "): a record between them is missing or corrupt", e);
            }
            previous = record.getStep();
            deltas++;
        }
        long digest = io.lccheckpoint.schema.StepDigest.chunkContribution(work.info().getName(), work.chunk(), stateChecksum);
        int offset = work.chunk() * work.info().getChunkSize();
        checkLength(where, state instanceof float[] floats ? floats.length : ((double[]) state).length, offset, work.length(), work.info());
        return new Rebuilt(state, base, deltas, digest, corrupt);
    }

    private static void checkLength(String where, int chunkLength, int offset, long tensorLength, TensorInfo info) {
        long expected = Math.min(info.getChunkSize(), tensorLength - offset);
        if (chunkLength != expected) {
            throw new RestoreException(where + ": holds " + chunkLength + " values, the manifest says " + expected);
        }
    }

    private static void progress(Progress progress, String phase, long done, long total) {
        if (progress != null) {
            progress.update(phase, done, total);
        }
    }

    private static Object superstepValues(SuperstepChunk superstep, DType dtype, String where) {
        if (superstep.getDtype() != dtype) {
            throw new RestoreException(where + ": superstep of step " + superstep.getStep() + " is " + superstep.getDtype() + ", the manifest says " + dtype);
        }
        ByteBuffer bytes = superstep.getValues().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long checksum;
        Object values;
        if (dtype == DType.FLOAT32) {
            float[] floats = new float[bytes.remaining() / 4];
            bytes.asFloatBuffer().get(floats);
            checksum = Checksums.xxh64(floats);
            values = floats;
        } else {
            double[] doubles = new double[bytes.remaining() / 8];
            bytes.asDoubleBuffer().get(doubles);
            checksum = Checksums.xxh64(doubles);
            values = doubles;
        }
        if (checksum != superstep.getChecksum()) {
            throw new RestoreException(where + ": superstep of step " + superstep.getStep() + " fails its checksum");
        }
        return values;
    }

    private static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer copy = buffer.duplicate();
        byte[] bytes = new byte[copy.remaining()];
        copy.get(bytes);
        return bytes;
    }

    private static String chunkKey(String tensor, int chunk, long generation) {
        return tensor + '\u0000' + chunk + '\u0000' + generation;
    }

    /** The job's topic as compaction would leave it: the last value per key, tombstones removing. */
    private static final class Index {
        /** With a target, only what rebuilding that step can use is kept (a bounded heap); null keeps every record. */
        final Plan target;
        /** Supersteps that failed their checksum while read (targeted reads keep only valid ones). */
        final List<String> corruptSupersteps = new ArrayList<>();
        final Map<List<Long>, StepManifest> manifests = new HashMap<>();
        final TreeMap<Long, NavigableMap<Long, StepComplete>> markers = new TreeMap<>();
        final Map<String, NavigableMap<Long, SuperstepChunk>> supersteps = new HashMap<>();
        final Map<String, NavigableMap<Long, EncodedChunkRecord>> encoded = new HashMap<>();
        long records;
        long bytes;

        Index() {
            this(null);
        }

        Index(Plan target) {
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
                superstepValues(value, value.getDtype(), "tensor " + key.getTensor() + ", chunk " + key.getChunk() + " (generation " + key.getGeneration() + ")");
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
    }

    /** Reads the checkpoint topic from the first record at or after {@code fromTimestamp} (from the start if negative). */
    private Index read(String job, Progress progress, long fromTimestamp, Plan target) {
        String topic = topics.checkpoints(job);
        Index index = new Index(target);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(kafka, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<PartitionInfo> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30));
            if (partitions == null || partitions.isEmpty()) {
                throw new RestoreException("job " + job + ": topic " + topic + " does not exist");
            }
            List<TopicPartition> assigned = partitions.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(assigned);
            Map<TopicPartition, Long> end = consumer.endOffsets(assigned);
            if (fromTimestamp < 0) {
                consumer.seekToBeginning(assigned);
            } else {
                Map<TopicPartition, Long> times = new HashMap<>();
                assigned.forEach(partition -> times.put(partition, fromTimestamp));
                consumer.offsetsForTimes(times).forEach((partition, found) -> consumer.seek(partition, found == null ? end.get(partition) : found.offset()));
            }
            long total = end.values().stream().mapToLong(Long::longValue).sum();
            Consumer<ConsumerRecord<byte[], byte[]>> handle = record -> {
                index.records++;
                index.bytes += record.serializedKeySize() + Math.max(0, record.serializedValueSize());
                CheckpointKey key = (CheckpointKey) wire.decode(record.key());
                if (!key.getJob().equals(job)) {
                    throw new RestoreException("topic " + topic + " holds a record of job " + key.getJob() + " at offset " + record.offset());
                }
                index.accept(key, record.value() == null ? null : wire.decode(record.value()));
            };
            while (!reachedEnd(consumer, end)) {
                consumer.poll(Duration.ofMillis(200)).forEach(handle);
                long position = assigned.stream().mapToLong(consumer::position).sum();
                progress(progress, "reading " + topic, position, total);
            }
        }
        return index;
    }

    private static boolean reachedEnd(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> entry : end.entrySet()) {
            if (consumer.position(entry.getKey()) < entry.getValue()) {
                return false;
            }
        }
        return true;
    }
}
