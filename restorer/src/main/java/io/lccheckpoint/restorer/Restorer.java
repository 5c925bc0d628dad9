package io.lccheckpoint.restorer;

import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.kafka.Topics;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
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
        // a restore of a job that does not exist must not create its topics (as a broker's auto-create would, with
        // cleanup.policy=delete): the producer then refuses such a checkpoint topic
        kafka.putIfAbsent(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
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
        CheckpointIndex index = read(job, (phase, done, total) -> { }, -1, null);
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
        return restore(job, OptionalLong.empty(), OptionalLong.empty(), progress);
    }

    public RestoredState restore(String job, long step, Progress progress) {
        return restore(job, OptionalLong.empty(), OptionalLong.of(step), progress);
    }

    /**
     * A step of one generation ({@code generation} empty: the newest generation that holds it), or that generation's
     * latest restorable step ({@code step} empty). A resumed run starts a new generation; an older one stays restorable
     * while it keeps its supersteps.
     */
    public RestoredState restore(String job, OptionalLong generation, OptionalLong step, Progress progress) {
        try {
            return restoreOrRunOutOfMemory(job, generation, step, progress);
        } catch (RestoreException e) {
            // a step that is not there may have been refused on its way: say what the job's dead letters say
            String letters = deadLetters(job);
            if (letters == null) {
                throw e;
            }
            throw new RestoreException(e.getMessage() + "; " + letters, e);
        } catch (OutOfMemoryError e) {
            throw new RestoreException("job " + job + ": ran out of heap at -Xmx" + Runtime.getRuntime().maxMemory() / (1 << 20) + "m: a restore"
                    + " holds about one copy of the step's values plus fetch buffers (16 MiB), with ParallelGC (./lcckpt restore uses it;"
                    + " G1 needs about twice as much); run it with a larger -Xmx (JAVA_TOOL_OPTIONS=-Xmx...)", e);
        }
    }

    private RestoredState restoreOrRunOutOfMemory(String job, OptionalLong generation, OptionalLong wanted, Progress progress) {
        long start = System.nanoTime();
        Progress reporting = progress == null ? (phase, done, total) -> { } : progress;
        if (pushdown) {
            Plan plan = plan(job, generation, wanted);
            if (plan != null) {
                // the encoder stamps its records with the time it made them; the margin covers clocks of several
                // encoder instances and brokers that disagree a little
                CheckpointIndex targeted = read(job, reporting, plan.fromTimestamp() < 0 ? -1 : Math.max(0, plan.fromTimestamp() - seekMarginMillis), plan);
                try {
                    // exactly the step the index names: what a targeted read misses may lie before the seek or among the
                    // records it left out, and the whole topic decides (and passes steps over if it must)
                    return rebuild(job, targeted, OptionalLong.of(plan.generation()), OptionalLong.of(plan.step()), progress, start, threads);
                } catch (RestoreException e) {
                    reporting.update("the targeted read was not enough (" + e.getMessage() + "); reading the whole topic", 0, 1);
                }
            }
        }
        CheckpointIndex index = read(job, reporting, -1, null);
        return rebuild(job, index, generation, wanted, progress, start, threads);
    }

    /**
     * What a restore targets, from the job's small index topic: the generation and step (the one wanted, or the newest)
     * and the first timestamp of its base superstep (-1 if unknown: the whole topic is read, still keeping only what
     * the step needs).
     */
    record Plan(long generation, long step, long fromTimestamp) {
    }

    /** The plan, or null if the index topic cannot tell (missing, no marker for the step). */
    private Plan plan(String job, OptionalLong generation, OptionalLong wanted) {
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
            if (generation.isPresent() && generation.getAsLong() != entry.getKey()) {
                continue;
            }
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
        CheckpointIndex index = new CheckpointIndex(new Plan(generation, step, -1));
        for (Map.Entry<CheckpointKey, SpecificRecord> record : records) {
            index.records++;
            index.accept(record.getKey(), record.getValue());
        }
        return rebuild(job, index, OptionalLong.of(generation), OptionalLong.of(step), null, System.nanoTime(), 1);
    }

    /** Rebuilds from records already read (key, value or null for a tombstone), in topic order: for tests without a broker. */
    static RestoredState rebuild(String job, List<Map.Entry<CheckpointKey, SpecificRecord>> records, OptionalLong wanted) {
        return rebuild(job, records, wanted, 1);
    }

    static RestoredState rebuild(String job, List<Map.Entry<CheckpointKey, SpecificRecord>> records, OptionalLong wanted, int threads) {
        return rebuild(job, records, OptionalLong.empty(), wanted, threads);
    }

    static RestoredState rebuild(String job, List<Map.Entry<CheckpointKey, SpecificRecord>> records, OptionalLong generation, OptionalLong wanted,
                                 int threads) {
        CheckpointIndex index = new CheckpointIndex();
        for (Map.Entry<CheckpointKey, SpecificRecord> record : records) {
            index.records++;
            index.accept(record.getKey(), record.getValue());
        }
        return rebuild(job, index, generation, wanted, null, System.nanoTime(), threads);
    }

    private static RestoredState rebuild(String job, CheckpointIndex index, OptionalLong generation, OptionalLong wanted, Progress progress, long start,
                                         int threads) {
        String topic = "the checkpoint topic of job " + job;
        if (generation.isPresent() && !index.markers.containsKey(generation.getAsLong())) {
            throw new RestoreException("job " + job + ": generation " + generation.getAsLong() + " has no complete, retained step; restorable steps: "
                    + index.describeSteps());
        }
        if (wanted.isPresent()) {
            // the newest generation with a complete marker there (a resumed generation owns the steps after its start)
            for (Map.Entry<Long, NavigableMap<Long, StepComplete>> entry : index.markers.descendingMap().entrySet()) {
                if (generation.isPresent() && generation.getAsLong() != entry.getKey()) {
                    continue;
                }
                if (entry.getValue().containsKey(wanted.getAsLong())) {
                    return StepRebuilder.rebuildStep(job, index, entry.getKey(), wanted.getAsLong(), progress, start, new ArrayList<>(), threads);
                }
            }
            throw new RestoreException("job " + job + ": step " + wanted.getAsLong() + (generation.isPresent() ? " of generation " + generation.getAsLong() : "")
                    + " is not a complete, retained step; restorable steps: " + index.describeSteps());
        }
        // the latest: newest generation first, newest step first; a step that cannot be rebuilt is passed over, named
        List<String> passedOver = new ArrayList<>();
        for (Map.Entry<Long, NavigableMap<Long, StepComplete>> entry : index.markers.descendingMap().entrySet()) {
            if (generation.isPresent() && generation.getAsLong() != entry.getKey()) {
                continue;
            }
            for (long step : entry.getValue().descendingKeySet()) {
                try {
                    return StepRebuilder.rebuildStep(job, index, entry.getKey(), step, progress, start, passedOver, threads);
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

    /** Reads the checkpoint topic from the first record at or after {@code fromTimestamp} (from the start if negative). */
    private CheckpointIndex read(String job, Progress progress, long fromTimestamp, Plan target) {
        String topic = topics.checkpoints(job);
        CheckpointIndex index = new CheckpointIndex(target);
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

    /**
     * The job's dead letters in a line (how many, and the reasons of the latest few), or null if it has none or they
     * cannot be read: records the encoder refused, which a restore that finds no step should point at.
     */
    public String deadLetters(String job) {
        String topic = topics.deadLetters(job);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(kafka, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<PartitionInfo> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(10));
            if (partitions == null || partitions.isEmpty()) {
                return null;
            }
            List<TopicPartition> assigned = partitions.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(assigned);
            Map<TopicPartition, Long> end = consumer.endOffsets(assigned);
            Map<TopicPartition, Long> begin = consumer.beginningOffsets(assigned);
            long offsets = 0;
            for (TopicPartition partition : assigned) {
                offsets += end.get(partition) - begin.get(partition);
                // twice as many offsets as letters: the encoder writes in transactions, whose markers take offsets too
                consumer.seek(partition, Math.max(begin.get(partition), end.get(partition) - 2 * DEAD_LETTERS_SHOWN));
            }
            if (offsets == 0) {
                return null;
            }
            List<String> reasons = new ArrayList<>();
            while (!reachedEnd(consumer, end)) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (record.value() != null && wire.decode(record.value()) instanceof io.lccheckpoint.schema.DeadLetter letter) {
                        reasons.add((letter.getStep() != null ? "step " + letter.getStep() + ", " : "")
                                + (letter.getTensor() != null ? "tensor " + letter.getTensor() + ": " : "") + letter.getReason());
                    }
                }
            }
            if (reasons.isEmpty()) {
                return null;
            }
            List<String> latest = reasons.subList(Math.max(0, reasons.size() - DEAD_LETTERS_SHOWN), reasons.size());
            return "the job's dead-letter topic " + topic + " holds records the encoder refused; the latest " + latest.size() + ": "
                    + String.join(" | ", latest);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** How many dead letters a failed restore quotes. */
    private static final int DEAD_LETTERS_SHOWN = 3;

    static void progress(Progress progress, String phase, long done, long total) {
        if (progress != null) {
            progress.update(phase, done, total);
        }
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
