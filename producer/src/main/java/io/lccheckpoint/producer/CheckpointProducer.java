package io.lccheckpoint.producer;

import io.lccheckpoint.codec.BadValueException;
import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.Checksums;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.EncodedChunk;
import io.lccheckpoint.codec.EntropyMode;
import io.lccheckpoint.producer.SplitPlanner.Split;
import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.CheckpointPosition;
import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.ChunkStateHandover;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.RemainingStages;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.SuperstepChunk;
import io.lccheckpoint.schema.TensorInfo;
import io.lccheckpoint.schema.kafka.Topics;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.LongAdder;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a trainer links (DESIGN.md §3): register tensors, then {@code publish(step, tensors)} every step. The producer
 * keeps a copy of the last published state, publishes the initial full state first and raw deltas
 * {@code u_t − u_{t−1}} after, chunked, each step inside one Kafka transaction (readers use {@code read_committed}, so a
 * step is visible whole or not at all). Sending is asynchronous with at most {@code lcckpt.buffer.memory} bytes in
 * flight; {@link #publish} blocks beyond that (time blocked is measured). After a crash, {@link #resume} starts a
 * new generation from the restored state.
 *
 * <p>The split (DESIGN.md §6, {@code lcckpt.split}): with {@code storage} the encoder codes the raw deltas; with
 * {@code trainer} this producer runs the codec's stages itself on its sender thread, keeps each chunk's residual and
 * publishes coded chunks (a few percent of the bytes); with {@code auto} a {@link SplitPlanner} picks one from measured
 * bandwidth, coding speed and step time and re-plans. Switching hands the residual over: to the trainer through the
 * encoder's handover topic, back to the encoder folded into the next raw delta. The checkpoint chain is the same bytes
 * whichever side codes.
 *
 * <p>Not thread-safe: one trainer thread calls it.
 */
public final class CheckpointProducer implements AutoCloseable {

    /** What a committed step cost. */
    public record StepReceipt(long generation, long step, int chunks, long bytes, Duration sendAndCommit) {
    }

    private record TensorSpec(String name, long[] shape, DType dtype, int length, int chunkCount) {
    }

    /** A step handed to the sender: a snapshot of the values; the sender computes the deltas and builds the records. */
    private record PendingStep(long generation, Long resumedFrom, long step, Map<String, Object> snapshot, boolean initial,
                               CompletableFuture<StepReceipt> receipt, int permits, double interval, double period, Split split) {
    }

    /** A step's records as built: whether it asks the encoder for a handover, and what coding it cost. */
    private record Built(List<ProducerRecord<SpecificRecord, SpecificRecord>> records, List<Stored> stored, boolean handover, long values,
                         long rawBytes, long codedBytes, long codingNanos) {
    }

    /**
     * A record this producer writes to the checkpoint topic itself (a coded chunk, or an initial state as a superstep),
     * and the notice on the raw-delta topic that points at it once the broker has given it a position (same
     * transaction): the brokers write those bytes once.
     */
    private record Stored(ProducerRecord<SpecificRecord, SpecificRecord> record, RawDeltaChunk notice, int bytes) {
    }

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointProducer.class);
    private static final java.lang.management.ThreadMXBean THREAD_CPU = java.lang.management.ManagementFactory.getThreadMXBean();

    /** The buffer is counted in KiB permits; a step larger than the whole buffer takes all of it. */
    private int permits(Map<String, Object> snapshot) {
        long bytes = 0;
        for (Object value : snapshot.values()) {
            bytes += value instanceof float[] f ? 4L * f.length : 8L * ((double[]) value).length;
        }
        return (int) Math.min(bufferPermits, Math.max(1, (bytes + 1023) / 1024));
    }

    private final ProducerSettings settings;
    private final String job;
    private final String rawTopic;
    private final int chunkValues;
    private final KafkaProducer<SpecificRecord, SpecificRecord> producer;
    private final String checkpointTopic;
    /** Initial states and coded chunks go to the checkpoint topic directly (lcckpt.write.checkpoints). */
    private final boolean writeCheckpoints;
    /** The checkpoint topic's partition count, looked up on first use (the sender's thread only). */
    private int checkpointPartitions;
    private final BlockingQueue<PendingStep> queue = new LinkedBlockingQueue<>();
    private final Thread sender;
    private final Semaphore inFlight;
    private volatile boolean closing;
    private final int bufferPermits;
    private final Map<String, TensorSpec> tensors = new LinkedHashMap<>();
    private final Map<String, Object> lastPublished = new HashMap<>();
    private final LongAdder bytesSent = new LongAdder();
    private final LongAdder nanosBlocked = new LongAdder();

    // the split: requested by configuration, by requestSplit() or by the planner; applied by the sender at a step boundary
    private final boolean autoSplit;
    private volatile Split requested;
    private Split current = Split.STORAGE;
    private Map<String, ChunkState[]> codecStates;
    private final CodecOptions codecOptions;
    private final ChunkEncoder coder;
    private final SplitPlanner planner;
    private final int replanSteps;
    private final Map<String, Object> kafkaSettings;
    private final WireFormat wire;
    private final String handoverTopic;
    private volatile SplitPlanner.Plan lastPlan;
    private volatile Split lastStepSplit = Split.STORAGE;
    private final LongAdder switches = new LongAdder();
    private final LongAdder codingNanos = new LongAdder();
    private final LongAdder rawBytesCommitted = new LongAdder();
    private long stepsSincePlan;
    private final EncoderWatcher watcher;
    private final Topics topicNames;
    private long lastPublishEnd;
    private long lastPublishEntered;
    /** split=auto, sender thread: the split the last step was built with, and how many steps in a row used it. */
    private Split lastBuiltSplit;
    private int builtInARow;
    private boolean afterInitial;

    private long generation;
    private long resumedFrom = -1;
    private long lastStep = -1;
    private boolean initialPending = true;
    private volatile Throwable failure;
    /** The step the sender built last (its chunks' previousStep for the next one); the sender's thread only. */
    private long lastBuiltStep = -1;

    public CheckpointProducer(Map<String, ?> config) {
        this.settings = new ProducerSettings(config);
        this.job = Topics.checkJob(settings.getString(ProducerSettings.JOB_CONFIG));
        Topics topics = new Topics(settings.getString(ProducerSettings.TOPIC_PREFIX_CONFIG));
        this.rawTopic = topics.rawDeltas(job);
        this.checkpointTopic = topics.checkpoints(job);
        this.writeCheckpoints = settings.getBoolean(ProducerSettings.WRITE_CHECKPOINTS_CONFIG);
        this.chunkValues = settings.getInt(ProducerSettings.CHUNK_VALUES_CONFIG);
        long configured = settings.getLong(ProducerSettings.GENERATION_CONFIG);
        this.generation = configured >= 0 ? configured : System.currentTimeMillis();
        int recordBytes = maxRecordBytes(chunkValues);

        this.wire = WireFormat.fromConfig(settings.originals());
        Map<String, Object> kafka = settings.kafkaSettings();
        kafka.keySet().removeIf(WireFormat::isWireFormatSetting);
        this.kafkaSettings = new HashMap<>(kafka);
        this.handoverTopic = topics.handover(job);
        String split = settings.getString(ProducerSettings.SPLIT_CONFIG);
        this.autoSplit = split.equals("auto");
        this.requested = split.equals("trainer") ? Split.TRAINER : Split.STORAGE;
        this.codecOptions = new CodecOptions(settings.getInt(ProducerSettings.CODEC_PROMOTION_BITS_CONFIG),
                EntropyMode.valueOf(settings.getString(ProducerSettings.CODEC_ENTROPY_CONFIG)));
        this.coder = new ChunkEncoder(codecOptions);
        this.planner = new SplitPlanner(settings.getDouble(ProducerSettings.SPLIT_CPU_BUDGET_CONFIG),
                settings.getDouble(ProducerSettings.SPLIT_HYSTERESIS_CONFIG));
        this.replanSteps = settings.getInt(ProducerSettings.SPLIT_REPLAN_STEPS_CONFIG);
        this.topicNames = topics;
        if (settings.getBoolean(ProducerSettings.CREATE_TOPICS_CONFIG)) {
            createTopics(kafka, topics, recordBytes);
        }
        kafka.putIfAbsent(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "lcckpt-trainer-" + job);
        kafka.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
        kafka.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 5);
        kafka.putIfAbsent(ProducerConfig.BATCH_SIZE_CONFIG, 1 << 20);
        kafka.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Math.max(1 << 20, recordBytes));
        kafka.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "lcckpt-trainer-" + job);
        org.apache.kafka.common.serialization.Serializer<SpecificRecord> keys = (topic, key) -> wire.encode(key);
        org.apache.kafka.common.serialization.Serializer<SpecificRecord> values = (topic, value) -> value == null ? null : wire.encode(value);
        this.producer = new KafkaProducer<>(kafka, keys, values);
        this.producer.initTransactions();
        this.bufferPermits = (int) Math.min(Integer.MAX_VALUE, settings.getLong(ProducerSettings.BUFFER_MEMORY_CONFIG) / 1024);
        this.inFlight = new Semaphore(bufferPermits);
        this.sender = new Thread(this::sendLoop, "lcckpt-producer-" + job);
        this.sender.setDaemon(true);
        this.sender.start();
        this.watcher = autoSplit ? new EncoderWatcher() : null;
    }

    /** Bytes of one chunk record: 8 bytes per value (float64) plus the envelope. */
    static int maxRecordBytes(int chunkValues) {
        return 8 * chunkValues + 4096;
    }

    private void createTopics(Map<String, Object> kafka, Topics topics, int recordBytes) {
        int partitions = settings.getInt(ProducerSettings.TOPIC_PARTITIONS_CONFIG);
        short replication = settings.getShort(ProducerSettings.TOPIC_REPLICATION_CONFIG);
        java.util.Optional<Short> factor = replication < 0 ? java.util.Optional.empty() : java.util.Optional.of(replication);
        List<NewTopic> wanted = List.of(
                new NewTopic(rawTopic, java.util.Optional.of(partitions), factor).configs(Topics.rawTopicConfig(recordBytes)),
                new NewTopic(topics.checkpoints(job), java.util.Optional.of(partitions), factor).configs(checkpointTopicConfig(recordBytes)),
                new NewTopic(topics.deadLetters(job), java.util.Optional.of(1), factor).configs(Topics.rawTopicConfig(recordBytes)),
                new NewTopic(handoverTopic, java.util.Optional.of(1), factor).configs(Topics.checkpointTopicConfig(3 * recordBytes)),
                new NewTopic(topics.index(job), java.util.Optional.of(1), factor).configs(Topics.checkpointTopicConfig(1 << 20)));
        // the admin client takes the connection and security settings among the producer's
        Map<String, Object> adminConfig = new HashMap<>(kafka);
        adminConfig.keySet().retainAll(org.apache.kafka.clients.admin.AdminClientConfig.configNames());
        try (Admin admin = Admin.create(adminConfig)) {
            for (var entry : admin.createTopics(wanted).values().entrySet()) {
                try {
                    entry.getValue().get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new KafkaException("cannot create topic " + entry.getKey() + " for job " + job, e.getCause());
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted while creating the topics of job " + job, e);
        }
    }

    /** The compacted topic's configs, with any {@code lcckpt.checkpoint.topic.<config>} setting added (e.g. segment.ms). */
    private Map<String, String> checkpointTopicConfig(int recordBytes) {
        Map<String, String> configs = new HashMap<>(Topics.checkpointTopicConfig(recordBytes));
        settings.originalsWithPrefix(ProducerSettings.CHECKPOINT_TOPIC_PREFIX).forEach((key, value) -> configs.put(key, String.valueOf(value)));
        return configs;
    }

    /** Declares a tensor before the first step; its values are float[] (FLOAT32) or double[] (FLOAT64) in row-major order. */
    public void registerTensor(String name, long[] shape, DType dtype) {
        if (!initialPending || lastStep >= 0) {
            throw new IllegalStateException("tensors are registered before the first publish (job " + job + ")");
        }
        if (name == null || name.isEmpty() || tensors.containsKey(name)) {
            throw new IllegalArgumentException("tensor name '" + name + "' is empty or registered twice (job " + job + ")");
        }
        long length = 1;
        for (long dimension : shape) {
            if (dimension < 0) {
                throw new IllegalArgumentException("tensor " + name + " has a negative dimension " + Arrays.toString(shape));
            }
            length *= dimension;
        }
        if (length < 1 || length > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor " + name + " must hold 1.." + (Integer.MAX_VALUE - 8) + " values, shape " + Arrays.toString(shape));
        }
        int chunks = (int) ((length + chunkValues - 1) / chunkValues);
        tensors.put(name, new TensorSpec(name, shape.clone(), dtype, (int) length, chunks));
    }

    /**
     * Publishes step {@code step} of the registered tensors (float[] or double[] per name). The first step of a generation
     * publishes the full state; later steps the delta to the previous published one. Returns when the step's records are
     * handed to the sender (blocking while too many steps are in flight); the future completes when the step is committed.
     */
    public CompletableFuture<StepReceipt> publish(long step, Map<String, ?> values) {
        if (failure != null) {
            throw new IllegalStateException("job " + job + ": an earlier step failed (" + failure.getMessage()
                    + "); resume(step, state) from the last committed step to start a new generation", failure);
        }
        if (tensors.isEmpty()) {
            throw new IllegalStateException("job " + job + ": register tensors before publishing");
        }
        if (step <= lastStep) {
            throw new IllegalArgumentException("job " + job + ": step " + step + " is not after the last published step " + lastStep
                    + (step == lastStep ? " (duplicate step)" : " (out of order)"));
        }
        long entered = System.nanoTime();
        // the trainer's own time per step: from the end of the last publish (back-pressure excluded) to this one; not
        // after an initial state, which trainers often wait on (restored, loaded, or awaited to be safe)
        double interval = lastPublishEnd == 0 || afterInitial ? Double.NaN : (entered - lastPublishEnd) / 1e9;
        // and the whole period, back-pressure included: what a step really takes under the split in use
        double period = lastPublishEntered == 0 || afterInitial ? Double.NaN : (entered - lastPublishEntered) / 1e9;
        lastPublishEntered = entered;
        checkValues(step, values);
        boolean initial = initialPending;
        afterInitial = initial;
        // the trainer's thread only copies the values; deltas and records are made on the sender's thread
        Map<String, Object> snapshot = new LinkedHashMap<>();
        for (String name : tensors.keySet()) {
            Object value = values.get(name);
            snapshot.put(name, value instanceof float[] f ? f.clone() : ((double[]) value).clone());
        }
        initialPending = false;
        lastStep = step;

        long waitStart = System.nanoTime();
        int permits = permits(snapshot);
        try {
            inFlight.acquire(permits);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted while waiting to publish step " + step + " of job " + job, e);
        }
        nanosBlocked.add(System.nanoTime() - waitStart);
        CompletableFuture<StepReceipt> receipt = new CompletableFuture<>();
        queue.add(new PendingStep(generation, initial && resumedFrom >= 0 ? resumedFrom : null, step, snapshot, initial, receipt, permits, interval, period,
                autoSplit ? null : requested));
        lastPublishEnd = System.nanoTime();
        return receipt;
    }

    /**
     * The sender: every step waiting when a transaction starts goes into it. A transaction of several whole steps keeps
     * each step atomic, and under load it amortizes the commit (~tens of ms on a broker) over the steps waiting for it.
     */
    private void sendLoop() {
        List<PendingStep> batch = new ArrayList<>();
        while (!closing || !queue.isEmpty()) {
            try {
                PendingStep first = queue.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch);
                send(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                inFlight.release(batch.stream().mapToInt(PendingStep::permits).sum());
                batch.clear();
            }
        }
    }

    /**
     * Sends a batch of waiting steps, as few transactions as possible: a step that asks the encoder for a handover ends its
     * transaction, because the next step is coded with the state the encoder hands back once that one is committed.
     */
    private void send(List<PendingStep> batch) {
        int next = 0;
        while (next < batch.size()) {
            List<PendingStep> part = new ArrayList<>();
            List<Built> built = new ArrayList<>();
            boolean awaitHandover = false;
            long start = System.nanoTime();
            try {
                if (failure != null) {
                    throw new KafkaException("not sent: an earlier step failed (" + failure.getMessage() + ")", failure);
                }
                while (next < batch.size() && !awaitHandover) {
                    PendingStep step = batch.get(next++);
                    part.add(step);
                    if (!Double.isNaN(step.interval())) {
                        planner.stepInterval(step.interval());
                    }
                    // split=auto: the plan's latest word, also for steps that were waiting when it was made
                    Built records = buildRecords(step.generation(), step.resumedFrom(), step.step(), step.snapshot(), step.initial(),
                            step.split() != null ? step.split() : requested);
                    built.add(records);
                    observe(step, records);
                    awaitHandover = records.handover() && !step.initial();
                }
                HandoverReader reader = awaitHandover ? new HandoverReader() : null;
                try {
                    long sendStart = System.nanoTime();
                    producer.beginTransaction();
                    long[] bytes = new long[part.size()];
                    storeCoded(built, bytes);
                    for (int k = 0; k < part.size(); k++) {
                        for (ProducerRecord<SpecificRecord, SpecificRecord> record : built.get(k).records()) {
                            producer.send(record);
                            if (record.value() instanceof RawDeltaChunk chunk) {
                                bytes[k] += chunk.getValues().remaining();
                            }
                        }
                    }
                    producer.commitTransaction();
                    long sent = 0;
                    for (long b : bytes) {
                        sent += b;
                    }
                    planner.transfer(lastStepSplitOf(built.get(built.size() - 1)), sent, (System.nanoTime() - sendStart) / 1e9);
                    Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
                    for (int k = 0; k < part.size(); k++) {
                        PendingStep step = part.get(k);
                        if (watcher != null) {
                            watcher.committed(step.generation(), step.step(), built.get(k).values(), lastStepSplitOf(built.get(k)));
                        }
                        bytesSent.add(bytes[k]);
                        rawBytesCommitted.add(built.get(k).rawBytes());
                        step.receipt().complete(new StepReceipt(step.generation(), step.step(), built.get(k).records().size() - 1, bytes[k], elapsed));
                    }
                    if (reader != null) {
                        PendingStep step = part.get(part.size() - 1);
                        codecStates = reader.await(step.generation(), step.step());
                        current = Split.TRAINER;
                        LOG.info("job {}: the trainer codes from step {} on (state handed over by the encoder)", job, step.step() + 1);
                    }
                } finally {
                    if (reader != null) {
                        reader.close();
                    }
                }
                if (autoSplit) {
                    replan(part.size(), built.get(built.size() - 1));
                }
            } catch (RuntimeException e) {
                // the first failure is the cause; later steps fail because of it and must not hide it
                if (failure == null) {
                    failure = e;
                }
                try {
                    producer.abortTransaction();
                } catch (RuntimeException ignored) {
                    // fenced, closed or no transaction open: nothing of these steps was committed either way
                }
                for (PendingStep step : part) {
                    if (!step.receipt().isDone()) {
                        step.receipt().completeExceptionally(new KafkaException("job " + job + ": step " + step.step() + " was not committed: "
                                + e.getMessage(), e));
                    }
                }
                for (; next < batch.size(); next++) {
                    batch.get(next).receipt().completeExceptionally(new KafkaException("job " + job + ": step " + batch.get(next).step()
                            + " was not sent: an earlier step failed (" + e.getMessage() + ")", e));
                }
            }
        }
    }

    /**
     * Writes the coded chunks of the steps to the checkpoint topic, waits for their positions and puts them in the notices
     * (before those are sent, in the same transaction).
     */
    private void storeCoded(List<Built> built, long[] bytes) {
        List<java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata>> sent = new ArrayList<>();
        for (Built step : built) {
            for (Stored stored : step.stored()) {
                sent.add(producer.send(stored.record()));
            }
        }
        if (sent.isEmpty()) {
            return;
        }
        producer.flush();
        int next = 0;
        for (int k = 0; k < built.size(); k++) {
            for (Stored stored : built.get(k).stored()) {
                org.apache.kafka.clients.producer.RecordMetadata at;
                try {
                    at = sent.get(next++).get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new org.apache.kafka.common.errors.InterruptException(e);
                } catch (java.util.concurrent.ExecutionException e) {
                    throw e.getCause() instanceof KafkaException cause ? cause : new KafkaException(e.getCause());
                }
                stored.notice().setStoredAt(new CheckpointPosition(at.partition(), at.offset()));
                bytes[k] += stored.bytes();
            }
        }
    }

    /**
     * The partition the encoder's records under this key go to (Kafka's default partitioner on the serialized key, as a
     * Streams sink without a partitioner uses): a tombstone the encoder writes later must land beside the record.
     */
    private int checkpointPartition(SpecificRecord key) {
        if (checkpointPartitions == 0) {
            checkpointPartitions = producer.partitionsFor(checkpointTopic).size();
        }
        return org.apache.kafka.common.utils.Utils.toPositive(org.apache.kafka.common.utils.Utils.murmur2(wire.encode(key))) % checkpointPartitions;
    }

    /**
     * split=auto: a step's whole period counts for the split it was built with once three steps in a row used it (the
     * first periods after a switch still carry the other split's back-pressure).
     */
    private void observe(PendingStep step, Built built) {
        if (!autoSplit || step.initial()) {
            lastBuiltSplit = null;
            builtInARow = 0;
            return;
        }
        Split used = lastStepSplitOf(built);
        builtInARow = used == lastBuiltSplit ? builtInARow + 1 : 1;
        lastBuiltSplit = used;
        if (builtInARow >= 3 && !Double.isNaN(step.period())) {
            planner.observed(used, step.period());
        }
    }

    private static Split lastStepSplitOf(Built built) {
        return built.codedBytes() > 0 ? Split.TRAINER : Split.STORAGE;
    }

    /**
     * split=auto: watches the encoder's progress topic for this job's steps. Over windows of at least 6 seconds (the
     * encoder commits about once a second, so its progress arrives in bursts and a backlog of a few steps is normal): if
     * it completed less than 70% of the values committed in the window, it was the bottleneck and its time per value is
     * the window over the values it completed; otherwise it kept up and is not a limit for the split that ran.
     */
    private final class EncoderWatcher implements Runnable {
        private static final double WINDOW_SECONDS = 6;
        /** A committed step the encoder has not finished: its values, generation and split, and the chunks done so far. */
        private static final class Pending {
            final long values;
            final long generation;
            final Split split;
            int chunksDone;

            Pending(long values, long generation, Split split) {
                this.values = values;
                this.generation = generation;
                this.split = split;
            }
        }

        private final Map<Long, Pending> pending = new java.util.concurrent.ConcurrentHashMap<>();
        private final Thread thread;
        private volatile boolean stop;
        private long windowStart;
        private long windowValues;
        private long windowCommitted;
        private Split windowSplit;
        private long lastValues = 1;

        EncoderWatcher() {
            thread = new Thread(this, "lcckpt-encoder-watcher-" + job);
            thread.setDaemon(true);
            thread.start();
        }

        void committed(long generation, long step, long values, Split split) {
            if (values > 0) {
                pending.put(step, new Pending(values, generation, split));
                lastValues = values;
                synchronized (this) {
                    if (split == windowSplit) {
                        windowCommitted += values;
                    }
                }
            }
        }

        /** At a plan: closes the window if it is long enough and tells the planner what it showed. */
        synchronized void sample(Split split) {
            long now = System.nanoTime();
            // a backlog holding steps of the other split (just after a switch) says nothing about this one's speed
            boolean mixed = pending.values().stream().anyMatch(p -> p.split != split);
            if (windowStart == 0 || windowSplit != split || mixed) {
                open(now, split);
                return;
            }
            double seconds = (now - windowStart) / 1e9;
            if (seconds < WINDOW_SECONDS) {
                return;
            }
            if (windowCommitted > 0 && windowValues < 0.7 * windowCommitted) {
                planner.encoder(split, seconds / Math.max(windowValues, lastValues));
            } else {
                planner.encoderKeepsUp(split);
            }
            open(now, split);
        }

        private void open(long now, Split split) {
            windowStart = now;
            windowValues = 0;
            windowCommitted = 0;
            windowSplit = split;
        }

        private synchronized void completedValues(long values, Split split) {
            if (windowSplit == split) {
                windowValues += values;
            }
        }

        @Override
        public void run() {
            Map<String, Object> config = new HashMap<>(kafkaSettings);
            config.keySet().retainAll(org.apache.kafka.clients.consumer.ConsumerConfig.configNames());
            config.remove(org.apache.kafka.clients.consumer.ConsumerConfig.GROUP_ID_CONFIG);
            config.put(org.apache.kafka.clients.consumer.ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            config.put(org.apache.kafka.clients.consumer.ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            config.put(org.apache.kafka.clients.consumer.ConsumerConfig.CLIENT_ID_CONFIG,
                    String.valueOf(kafkaSettings.getOrDefault(ProducerConfig.CLIENT_ID_CONFIG, "lcckpt-trainer-" + job)) + "-watcher");
            String topic = topicNames.encoderProgress();
            try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<>(config,
                    new org.apache.kafka.common.serialization.ByteArrayDeserializer(), new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
                List<org.apache.kafka.common.TopicPartition> partitions = new ArrayList<>();
                while (partitions.isEmpty() && !stop) {
                    var infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
                    if (infos != null) {
                        infos.forEach(info -> partitions.add(new org.apache.kafka.common.TopicPartition(topic, info.partition())));
                    }
                    if (partitions.isEmpty()) {
                        Thread.sleep(1000); // the encoder creates its progress topic when it starts
                    }
                }
                consumer.assign(partitions);
                consumer.seekToEnd(partitions);
                byte[] key = job.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                while (!stop) {
                    for (var record : consumer.poll(Duration.ofMillis(200))) {
                        if (record.key() == null || !Arrays.equals(record.key(), key)) {
                            continue;
                        }
                        if (io.lccheckpoint.schema.kafka.SingleObjectSerde.decode(record.value()) instanceof io.lccheckpoint.schema.StepComplete notice) {
                            Pending state = pending.get(notice.getStep());
                            if (state != null && state.generation == notice.getGeneration() && ++state.chunksDone == notice.getChunks()) {
                                pending.remove(notice.getStep());
                                completedValues(state.values, state.split);
                            }
                        }
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                if (!stop) {
                    LOG.warn("job {}: the encoder watcher stopped ({}); split=auto plans without the encoder's speed", job, e.toString());
                }
            }
        }

        void close() {
            stop = true;
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * split=auto, the first step after the initial state: probes the local coding on its first chunk (twice: the first
     * runs cold) and plans with that and the initial state's transfer. Returns whether a plan was made.
     */
    private boolean firstPlan(Map<String, Object> values) {
        probe(values);
        probe(values);
        if (!planner.ready()) {
            return false;
        }
        long count = 0;
        long rawBytes = 0;
        for (TensorSpec spec : tensors.values()) {
            count += spec.length();
            rawBytes += (long) spec.length() * (spec.dtype() == DType.FLOAT32 ? 4 : 8);
        }
        // provisional (one transfer cannot see a quota's bursts, and the trainer's step time is not known yet): the next
        // plan comes two steps later instead of replanSteps
        stepsSincePlan = Math.max(0, replanSteps - 2);
        adopt(planner.plan(current, count, rawBytes));
        return true;
    }

    /** Records a plan and requests its split for the steps built from now on. */
    private void adopt(SplitPlanner.Plan plan) {
        lastPlan = plan;
        if (plan.split() != requested) {
            LOG.info("job {}: split {} -> {} ({})", job, requested.name().toLowerCase(java.util.Locale.ROOT),
                    plan.split().name().toLowerCase(java.util.Locale.ROOT), plan.reason());
            requested = plan.split();
        }
    }

    /** split=auto: every {@code replanSteps} steps, asks the planner and requests the split it picks. */
    private void replan(int steps, Built last) {
        stepsSincePlan += steps;
        // the first plan as soon as there is enough to predict both splits, then every replanSteps steps
        if ((lastPlan != null && stepsSincePlan < replanSteps) || last.values() == 0 || !planner.ready()) {
            return;
        }
        stepsSincePlan = 0;
        if (watcher != null) {
            watcher.sample(current);
        }
        adopt(planner.plan(current, last.values(), last.rawBytes()));
    }

    private void checkValues(long step, Map<String, ?> values) {
        for (TensorSpec spec : tensors.values()) {
            Object value = values.get(spec.name());
            String where = "job " + job + ", step " + step + ", tensor " + spec.name();
            if (value == null) {
                throw new IllegalArgumentException(where + ": missing");
            }
            int length = value instanceof float[] f ? f.length : value instanceof double[] d ? d.length : -1;
            DType dtype = value instanceof float[] ? DType.FLOAT32 : value instanceof double[] ? DType.FLOAT64 : null;
            if (dtype != spec.dtype()) {
                throw new IllegalArgumentException(where + ": registered as " + spec.dtype() + " but got " + (dtype == null ? value.getClass().getSimpleName() : dtype));
            }
            if (length != spec.length()) {
                throw new IllegalArgumentException(where + ": registered with " + spec.length() + " values " + Arrays.toString(spec.shape()) + " but got " + length);
            }
        }
        for (String name : values.keySet()) {
            if (!tensors.containsKey(name)) {
                throw new IllegalArgumentException("job " + job + ", step " + step + ": tensor " + name + " was never registered");
            }
        }
    }

    /**
     * On the sender's thread: the step's manifest and chunks, deltas against the last published values it keeps. The
     * split decides what a chunk carries: raw values, a coded chunk, or (switching back to storage) raw values with the
     * residual folded in. Switching to the trainer marks the chunks for a handover, which {@link #send} then awaits.
     */
    private Built buildRecords(long generation, Long resumedFrom, long step, Map<String, Object> values, boolean initial, Split target) {
        if (autoSplit && initial) {
            // split=auto starts with both sides holding the initial state and a zero residual (as split=trainer does): the
            // first plan, made when the next step is built, then takes either split at no cost, with no handover round
            // trip (a step of 200 MB raw at 5 MB/s would otherwise be sent before the trainer could take over)
            target = Split.TRAINER;
            requested = Split.TRAINER;
        } else if (autoSplit && lastPlan == null && firstPlan(values)) {
            target = requested;
        }
        int stepChunks = tensors.values().stream().mapToInt(TensorSpec::chunkCount).sum();
        List<ProducerRecord<SpecificRecord, SpecificRecord>> records = new ArrayList<>(stepChunks + 1);
        List<Stored> stored = new ArrayList<>();
        List<TensorInfo> infos = new ArrayList<>();
        for (TensorSpec spec : tensors.values()) {
            List<Long> shape = new ArrayList<>();
            for (long dimension : spec.shape()) {
                shape.add(dimension);
            }
            infos.add(new TensorInfo(spec.name(), shape, spec.dtype(), chunkValues, spec.chunkCount()));
        }
        StepManifest manifest = io.lccheckpoint.schema.StepDigest.sealed(new StepManifest(job, generation, step, resumedFrom, infos, null));
        // one timestamp for the whole step: the encoder's records keep it, so a restore can seek to a step's start exactly
        long timestamp = System.currentTimeMillis();
        records.add(new ProducerRecord<>(rawTopic, null, timestamp, (SpecificRecord) new ChunkKey(job, "", -1), (SpecificRecord) manifest));

        boolean handover = false;
        boolean code = false;
        boolean fold = false;
        if (initial) {
            // both sides start from the initial state and a zero residual: no handover record needed
            handover = target == Split.TRAINER;
            codecStates = handover ? new HashMap<>() : null;
            current = target;
        } else if (current == Split.STORAGE) {
            handover = target == Split.TRAINER;
        } else if (target == Split.TRAINER) {
            code = true;
        } else {
            fold = true;
        }
        if ((handover && !initial) || fold) {
            switches.increment();
        }
        lastStepSplit = code ? Split.TRAINER : Split.STORAGE;
        // every chunk says which step it follows, so the encoder can tell a gap (lost or forged records) from the chain
        Long previousStep = initial ? null : lastBuiltStep;
        lastBuiltStep = step;
        long values0 = 0;
        long rawBytes = 0;
        long codedBytes = 0;
        long nanos = 0;
        long cpuNanos = 0;
        for (TensorSpec spec : tensors.values()) {
            Object value = values.get(spec.name());
            Object previous = lastPublished.get(spec.name());
            ChunkState[] states = codecStates == null ? null : codecStates.get(spec.name());
            if (initial && codecStates != null) {
                states = new ChunkState[spec.chunkCount()];
                codecStates.put(spec.name(), states);
            }
            for (int chunk = 0; chunk < spec.chunkCount(); chunk++) {
                int from = chunk * chunkValues;
                int to = Math.min(spec.length(), from + chunkValues);
                int width = spec.dtype() == DType.FLOAT32 ? 4 : 8;
                values0 += to - from;
                rawBytes += (long) width * (to - from);
                ByteBuffer bytes;
                RemainingStages remaining = RemainingStages.ALL;
                String options = null;
                if (initial) {
                    bytes = chunkBytes(value, null, from, to);
                    if (states != null) {
                        states[chunk] = value instanceof float[] f ? ChunkState.float32(Arrays.copyOfRange(f, from, to))
                                : ChunkState.float64(Arrays.copyOfRange((double[]) value, from, to));
                    }
                } else if (code) {
                    long begin = System.nanoTime();
                    long cpuBegin = THREAD_CPU.getCurrentThreadCpuTime();
                    EncodedChunk encoded;
                    try {
                        encoded = value instanceof float[] f ? coder.encode(delta(f, (float[]) previous, from, to), states[chunk])
                                : coder.encode(delta((double[]) value, (double[]) previous, from, to), states[chunk]);
                    } catch (BadValueException e) {
                        throw new KafkaException("job " + job + ", step " + step + ", tensor " + spec.name() + ", chunk " + chunk
                                + ": cannot code the delta: " + e.getMessage() + "; resume(step, state) from the last committed step", e);
                    }
                    nanos += System.nanoTime() - begin;
                    cpuNanos += THREAD_CPU.getCurrentThreadCpuTime() - cpuBegin;
                    bytes = ByteBuffer.wrap(encoded.record());
                    codedBytes += bytes.remaining();
                    remaining = RemainingStages.NONE;
                    options = codecOptions.describe();
                } else if (fold) {
                    bytes = foldedBytes(value, previous, states[chunk], from, to);
                } else {
                    bytes = chunkBytes(value, previous, from, to);
                }
                boolean notice = (code || initial) && writeCheckpoints;
                RawDeltaChunk record = new RawDeltaChunk(job, generation, step, spec.name(), chunk, spec.chunkCount(), stepChunks,
                        spec.dtype(), initial, notice ? ByteBuffer.allocate(0) : bytes, remaining, options, fold, handover, previousStep, null);
                if (notice && initial) {
                    // the superstep the encoder would have written for the initial state: same key, same value
                    CheckpointKey key = new CheckpointKey(job, RecordKind.SUPERSTEP_CHUNK, spec.name(), chunk, generation, step);
                    long checksum = value instanceof float[] f ? Checksums.xxh64(Arrays.copyOfRange(f, from, to))
                            : Checksums.xxh64(Arrays.copyOfRange((double[]) value, from, to));
                    SuperstepChunk superstep = new SuperstepChunk(job, generation, step, spec.name(), chunk, spec.dtype(), bytes, checksum);
                    stored.add(new Stored(new ProducerRecord<>(checkpointTopic, checkpointPartition(key), timestamp, key, superstep), record, bytes.remaining()));
                } else if (notice) {
                    // the record the encoder would have written for this step (same key, same value): the chain is the same
                    CheckpointKey key = new CheckpointKey(job, RecordKind.ENCODED_CHUNK, spec.name(), chunk, generation, step);
                    EncodedChunkRecord encoded = new EncodedChunkRecord(job, generation, step, spec.name(), chunk, bytes, previousStep);
                    stored.add(new Stored(new ProducerRecord<>(checkpointTopic, checkpointPartition(key), timestamp, key, encoded), record, bytes.remaining()));
                }
                records.add(new ProducerRecord<>(rawTopic, null, timestamp, new ChunkKey(job, spec.name(), chunk), record));
            }
            lastPublished.put(spec.name(), value);
        }
        if (fold) {
            codecStates = null;
            current = Split.STORAGE;
            LOG.info("job {}: the encoder codes from step {} on (residual folded into the step's raw delta)", job, step);
        }
        if (code) {
            codingNanos.add(nanos);
            planner.coding(values0, nanos / 1e9, cpuNanos / 1e9, rawBytes, codedBytes);
        } else if (!initial && autoSplit && (lastPlan == null || (stepsSincePlan + 1) % replanSteps == 0)) {
            probe(values);
        }
        return new Built(records, stored, handover, initial ? 0 : values0, rawBytes, codedBytes, nanos);
    }

    /**
     * split=auto under the storage split: codes the first chunk of the step on a scratch state to measure the local
     * coding speed and ratio (one chunk per plan; the result is thrown away).
     */
    private void probe(Map<String, Object> values) {
        TensorSpec spec = tensors.values().iterator().next();
        Object value = values.get(spec.name());
        Object previous = lastPublished.get(spec.name());
        int to = Math.min(spec.length(), chunkValues);
        long begin = System.nanoTime();
        long cpuBegin = THREAD_CPU.getCurrentThreadCpuTime();
        EncodedChunk encoded;
        try {
            encoded = value instanceof float[] f ? coder.encode(delta(f, (float[]) previous, 0, to), ChunkState.float32(new float[to]))
                    : coder.encode(delta((double[]) value, (double[]) previous, 0, to), ChunkState.float64(new double[to]));
        } catch (BadValueException e) {
            return; // the encoder will dead-letter the step; nothing to learn here
        }
        int width = spec.dtype() == DType.FLOAT32 ? 4 : 8;
        planner.probe(to, (System.nanoTime() - begin) / 1e9, (THREAD_CPU.getCurrentThreadCpuTime() - cpuBegin) / 1e9, (long) width * to,
                encoded.record().length);
    }

    private static float[] delta(float[] current, float[] before, int from, int to) {
        float[] delta = new float[to - from];
        for (int i = from; i < to; i++) {
            delta[i - from] = current[i] - before[i];
        }
        return delta;
    }

    private static double[] delta(double[] current, double[] before, int from, int to) {
        double[] delta = new double[to - from];
        for (int i = from; i < to; i++) {
            delta[i - from] = current[i] - before[i];
        }
        return delta;
    }

    /** The raw delta plus the residual this producer carried: what the encoder's "delta + residual" will code. */
    private static ByteBuffer foldedBytes(Object value, Object previous, ChunkState state, int from, int to) {
        if (value instanceof float[] current) {
            float[] before = (float[]) previous;
            float[] residual = state.residualFloat();
            ByteBuffer buffer = ByteBuffer.allocate(4 * (to - from)).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = from; i < to; i++) {
                buffer.putFloat((current[i] - before[i]) + residual[i - from]);
            }
            return buffer.flip();
        }
        double[] current = (double[]) value;
        double[] before = (double[]) previous;
        double[] residual = state.residualDouble();
        ByteBuffer buffer = ByteBuffer.allocate(8 * (to - from)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = from; i < to; i++) {
            buffer.putDouble((current[i] - before[i]) + residual[i - from]);
        }
        return buffer.flip();
    }

    /**
     * Reads the chunk states the encoder hands over after a step that asked for them (split switch storage → trainer).
     * Created before that step is sent, so it reads from the topic's end at that moment: only new handovers.
     */
    private final class HandoverReader implements AutoCloseable {
        private final org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]> consumer;

        HandoverReader() {
            Map<String, Object> config = new HashMap<>(kafkaSettings);
            config.keySet().retainAll(org.apache.kafka.clients.consumer.ConsumerConfig.configNames());
            config.remove(org.apache.kafka.clients.consumer.ConsumerConfig.GROUP_ID_CONFIG);
            config.put(org.apache.kafka.clients.consumer.ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            config.put(org.apache.kafka.clients.consumer.ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            config.put(org.apache.kafka.clients.consumer.ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Math.max(1 << 20, 3 * maxRecordBytes(chunkValues)));
            config.put(org.apache.kafka.clients.consumer.ConsumerConfig.CLIENT_ID_CONFIG,
                    String.valueOf(kafkaSettings.getOrDefault(ProducerConfig.CLIENT_ID_CONFIG, "lcckpt-trainer-" + job)) + "-handover");
            consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<>(config,
                    new org.apache.kafka.common.serialization.ByteArrayDeserializer(), new org.apache.kafka.common.serialization.ByteArrayDeserializer());
            List<org.apache.kafka.common.TopicPartition> partitions = new ArrayList<>();
            for (var info : consumer.partitionsFor(handoverTopic, Duration.ofSeconds(30))) {
                partitions.add(new org.apache.kafka.common.TopicPartition(handoverTopic, info.partition()));
            }
            if (partitions.isEmpty()) {
                throw new KafkaException("job " + job + ": handover topic " + handoverTopic + " does not exist (create it, or let lcckpt.create.topics do it)");
            }
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            partitions.forEach(consumer::position);
        }

        /** The state of every chunk after {@code step}, checked against its checksum. */
        Map<String, ChunkState[]> await(long generation, long step) {
            Map<String, ChunkState[]> states = new HashMap<>();
            int missing = 0;
            for (TensorSpec spec : tensors.values()) {
                states.put(spec.name(), new ChunkState[spec.chunkCount()]);
                missing += spec.chunkCount();
            }
            long timeout = settings.getLong(ProducerSettings.SPLIT_HANDOVER_TIMEOUT_CONFIG);
            long deadline = System.nanoTime() + timeout * 1_000_000L;
            while (missing > 0) {
                if (System.nanoTime() > deadline) {
                    throw new KafkaException("job " + job + ", step " + step + ": the encoder did not hand over " + missing + " chunk states within "
                            + timeout + " ms (is an encoder running for topic prefix of " + rawTopic + "?)");
                }
                for (var record : consumer.poll(Duration.ofMillis(200))) {
                    if (!(wire.decode(record.value()) instanceof ChunkStateHandover h) || h.getGeneration() != generation || h.getStep() != step) {
                        continue;
                    }
                    ChunkState[] slots = states.get(h.getTensor());
                    if (slots == null || h.getChunk() < 0 || h.getChunk() >= slots.length) {
                        throw new KafkaException("job " + job + ", step " + step + ": handover for unknown chunk " + h.getTensor() + "/" + h.getChunk());
                    }
                    if (slots[h.getChunk()] == null) {
                        slots[h.getChunk()] = toState(h, step);
                        missing--;
                    }
                }
            }
            return states;
        }

        private ChunkState toState(ChunkStateHandover h, long step) {
            ByteBuffer approx = h.getApprox().order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer residual = h.getResidual().order(ByteOrder.LITTLE_ENDIAN);
            ChunkState state;
            long checksum;
            if (h.getDtype() == DType.FLOAT32) {
                float[] a = new float[approx.remaining() / 4];
                float[] r = new float[residual.remaining() / 4];
                approx.asFloatBuffer().get(a);
                residual.asFloatBuffer().get(r);
                state = ChunkState.ofFloat32(a, r);
                checksum = Checksums.xxh64(a);
            } else {
                double[] a = new double[approx.remaining() / 8];
                double[] r = new double[residual.remaining() / 8];
                approx.asDoubleBuffer().get(a);
                residual.asDoubleBuffer().get(r);
                state = ChunkState.ofFloat64(a, r);
                checksum = Checksums.xxh64(a);
            }
            if (checksum != h.getChecksum()) {
                throw new KafkaException("job " + job + ", step " + step + ", tensor " + h.getTensor() + ", chunk " + h.getChunk()
                        + ": handed-over state fails its checksum");
            }
            return state;
        }

        @Override
        public void close() {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** Little-endian values [from, to) of the state, or of its delta to the previous published state. */
    private static ByteBuffer chunkBytes(Object value, Object previous, int from, int to) {
        if (value instanceof float[] current) {
            ByteBuffer buffer = ByteBuffer.allocate(4 * (to - from)).order(ByteOrder.LITTLE_ENDIAN);
            float[] before = (float[]) previous;
            for (int i = from; i < to; i++) {
                buffer.putFloat(before == null ? current[i] : current[i] - before[i]);
            }
            return buffer.flip();
        }
        double[] current = (double[]) value;
        double[] before = (double[]) previous;
        ByteBuffer buffer = ByteBuffer.allocate(8 * (to - from)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = from; i < to; i++) {
            buffer.putDouble(before == null ? current[i] : current[i] - before[i]);
        }
        return buffer.flip();
    }

    /**
     * After a crash: continue from {@code step}, whose (restored) state is {@code state}. Starts a new generation whose
     * first record is that full state; records of the crashed generation after {@code step} are never part of it.
     */
    public void resume(long step, Map<String, ?> state) {
        drain();
        failure = null;
        generation = Math.max(System.currentTimeMillis(), generation + 1);
        resumedFrom = step;
        initialPending = true;
        lastStep = step - 1;
        publish(step, state);
    }

    /** Waits until every published step is committed or failed. */
    public void drain() {
        try {
            inFlight.acquire(bufferPermits);
            inFlight.release(bufferPermits);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public String job() {
        return job;
    }

    public long generation() {
        return generation;
    }

    /** Bytes of chunk payloads committed so far: raw values, or coded chunks under the trainer split (the network's share). */
    public long bytesSent() {
        return bytesSent.sum();
    }

    /** Bytes of raw values of the steps committed so far (what the storage split would have sent). */
    public long rawBytesCommitted() {
        return rawBytesCommitted.sum();
    }

    /**
     * Asks for a split from the next step published on (with split=auto: from the next step sent, and the planner may
     * change it again at its next plan). Switching to the
     * trainer waits for the encoder's handover after that step; switching back folds the residual into the next delta.
     */
    public void requestSplit(Split split) {
        requested = java.util.Objects.requireNonNull(split, "split");
    }

    /** The split the last built step used (TRAINER: it was coded here). */
    public Split currentSplit() {
        return lastStepSplit;
    }

    /** Times the split changed (each hands the residual over). */
    public long splitSwitches() {
        return switches.sum();
    }

    /** Time the sender spent coding chunks under the trainer split. */
    public Duration codingTime() {
        return Duration.ofNanos(codingNanos.sum());
    }

    /** split=auto: the planner's last prediction, or null before its first. */
    public SplitPlanner.Plan lastPlan() {
        return lastPlan;
    }

    /** Time publish() spent blocked by back-pressure. */
    public Duration timeBlocked() {
        return Duration.ofNanos(nanosBlocked.sum());
    }

    @Override
    public void close() {
        drain();
        closing = true;
        try {
            sender.join(Duration.ofSeconds(30).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close(Duration.ofSeconds(30));
        if (watcher != null) {
            watcher.close();
        }
    }

    /** Gives up at once, as a dead process would: nothing waiting is sent, an open transaction is left to be fenced. */
    public void abandon() {
        closing = true;
        queue.clear();
        sender.interrupt();
        producer.close(Duration.ZERO);
        if (watcher != null) {
            watcher.close();
        }
    }
}
