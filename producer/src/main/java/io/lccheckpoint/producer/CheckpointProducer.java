package io.lccheckpoint.producer;

import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.EntropyMode;
import io.lccheckpoint.codec.SixteenBitFloats;
import io.lccheckpoint.producer.SplitPlanner.Split;
import io.lccheckpoint.producer.internals.HandoverReader;
import io.lccheckpoint.producer.internals.KafkaClients;
import io.lccheckpoint.producer.internals.PendingStep;
import io.lccheckpoint.producer.internals.ProducerMetrics;
import io.lccheckpoint.producer.internals.ProgressWatcher;
import io.lccheckpoint.producer.internals.Sender;
import io.lccheckpoint.producer.internals.SplitController;
import io.lccheckpoint.producer.internals.StepQueue;
import io.lccheckpoint.producer.internals.StepRecords;
import io.lccheckpoint.producer.internals.TensorSpec;
import io.lccheckpoint.producer.internals.TopicCreator;
import io.lccheckpoint.producer.internals.TrainerCoder;
import io.lccheckpoint.producer.internals.TensorCodecRules;
import io.lccheckpoint.producer.internals.ExactValues;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.DTypes;
import io.lccheckpoint.schema.kafka.ProgressReader;
import io.lccheckpoint.schema.kafka.Topics;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.Time;

/**
 * What a trainer links (DESIGN.md §3): register tensors, then {@code publish(step, tensors)} every step. The producer
 * keeps a copy of the last published state, publishes the initial full state first and raw deltas
 * {@code u_t − u_{t−1}} after, chunked, each step inside one Kafka transaction (readers use {@code read_committed}, so a
 * step is visible whole or not at all). Sending is asynchronous with at most {@code lcckpt.buffer.memory} bytes in
 * flight; {@link #publish} blocks beyond that, at most {@code max.block.ms} ({@link PublishTimeoutException}). A failed
 * step fails its receipt ({@link StepFailedException}) and poisons the producer ({@link ProducerPoisonedException}) until
 * {@link #resume} starts a new generation from the restored state.
 *
 * <p>The split (DESIGN.md §6, {@code lcckpt.split}): with {@code storage} the encoder codes the raw deltas; with
 * {@code trainer} this producer runs the codec's stages itself on its sender thread, keeps each chunk's residual and
 * publishes coded chunks (a few percent of the bytes); with {@code auto} a {@link SplitPlanner} picks one from measured
 * bandwidth, coding speed and step time and re-plans. Switching hands the residual over: to the trainer through the
 * encoder's handover topic, back to the encoder folded into the next raw delta. The checkpoint chain is the same bytes
 * whichever side codes.
 *
 * <p>This class is the API, its checks and the lifecycle; the work is done in {@code internals}: the {@link StepQueue},
 * the {@link Sender} thread and its transactions, {@link StepRecords} (a step's records), the {@link TrainerCoder},
 * the {@link SplitController} (split=auto), the {@link HandoverReader}, the {@link ProgressWatcher} and the
 * {@link ProducerMetrics} (JMX).
 *
 * <p>Not thread-safe: one trainer thread calls it.
 */
public final class CheckpointProducer implements AutoCloseable {

    /** What a committed step cost. */
    public record StepReceipt(long generation, long step, int chunks, long bytes, Duration sendAndCommit) {
    }

    private final String job;
    private final int chunkValues;
    private final long maxBlockMs;
    private final Time time;
    private final Map<String, TensorSpec> tensors = new LinkedHashMap<>();
    private final TensorCodecRules tensorRules;
    private final Producer<SpecificRecord, SpecificRecord> producer;
    private final StepQueue queue;
    private final SplitController split;
    private final ProducerMetrics metrics;
    private final Sender sender;
    /** Codes chunks under the trainer split, on lcckpt.codec.threads threads. */
    private final TrainerCoder coder;
    private final Thread senderThread;
    /** The checkpoint topic's partition count, looked up on first use (the sender's thread only). */
    private int checkpointPartitions;

    // the trainer's thread: the chain it publishes, and its timing for split=auto
    private long generation;
    private long resumedFrom = -1;
    private long lastStep = -1;
    private boolean initialPending = true;
    private boolean afterInitial;
    private long lastPublishEnd;
    private long lastPublishEntered;

    /** A producer for {@code config}: {@link ProducerSettings} and any Kafka producer setting (security included). */
    public CheckpointProducer(Map<String, ?> config) {
        this(config, KafkaClients.DEFAULT, Time.SYSTEM);
    }

    /** The same with the given clients and clock: unit tests pass a {@code MockProducer} and a {@code MockTime}. */
    CheckpointProducer(Map<String, ?> config, KafkaClients clients, Time time) {
        ProducerSettings settings = new ProducerSettings(config);
        this.time = time;
        this.job = Topics.checkJob(settings.getString(ProducerSettings.JOB_CONFIG));
        Topics topics = new Topics(settings.getString(ProducerSettings.TOPIC_PREFIX_CONFIG));
        this.chunkValues = settings.getInt(ProducerSettings.CHUNK_VALUES_CONFIG);
        long configured = settings.getLong(ProducerSettings.GENERATION_CONFIG);
        this.generation = configured >= 0 ? configured : time.milliseconds();
        int recordBytes = maxRecordBytes(chunkValues);
        CodecOptions codecOptions = new CodecOptions(settings.getInt(ProducerSettings.CODEC_PROMOTION_BITS_CONFIG),
                EntropyMode.valueOf(settings.getString(ProducerSettings.CODEC_ENTROPY_CONFIG)));
        try {
            this.tensorRules = TensorCodecRules.parse(settings.getString(ProducerSettings.CODEC_TENSOR_OPTIONS_CONFIG), codecOptions);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("job " + job + ": " + e.getMessage());
        }

        WireFormat wire = WireFormat.fromConfig(settings.originals());
        Map<String, Object> kafka = settings.kafkaSettings();
        kafka.keySet().removeIf(WireFormat::isWireFormatSetting);
        Map<String, Object> clientSettings = new HashMap<>(kafka);
        if (settings.getBoolean(ProducerSettings.CREATE_TOPICS_CONFIG)) {
            try (Admin admin = clients.admin(KafkaClients.adminConfig(kafka))) {
                TopicCreator.create(admin, topics, job, settings.getInt(ProducerSettings.TOPIC_PARTITIONS_CONFIG),
                        settings.getShort(ProducerSettings.TOPIC_REPLICATION_CONFIG), recordBytes,
                        settings.originalsWithPrefix(ProducerSettings.CHECKPOINT_TOPIC_PREFIX));
            }
        }
        kafka.putIfAbsent(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "lcckpt-trainer-" + job);
        kafka.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
        kafka.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 5);
        kafka.putIfAbsent(ProducerConfig.BATCH_SIZE_CONFIG, 1 << 20);
        kafka.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Math.max(1 << 20, recordBytes));
        kafka.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "lcckpt-trainer-" + job);
        // publish() waits for buffer space as long as the Kafka producer waits for metadata or its own buffer
        this.maxBlockMs = (Long) ConfigDef.parseType(ProducerConfig.MAX_BLOCK_MS_CONFIG,
                kafka.getOrDefault(ProducerConfig.MAX_BLOCK_MS_CONFIG, 60_000L), ConfigDef.Type.LONG);
        Serializer<SpecificRecord> keys = (topic, key) -> wire.encode(key);
        Serializer<SpecificRecord> values = (topic, value) -> value == null ? null : wire.encode(value);
        this.producer = clients.producer(kafka, keys, values);
        this.metrics = new ProducerMetrics(job, String.valueOf(kafka.get(ProducerConfig.CLIENT_ID_CONFIG)), time);
        this.coder = new TrainerCoder(codecOptions, settings.codecThreads(), job);
        try {
            this.producer.initTransactions();
            SplitPlanner planner = new SplitPlanner(settings.getDouble(ProducerSettings.SPLIT_CPU_BUDGET_CONFIG),
                    settings.getDouble(ProducerSettings.SPLIT_HYSTERESIS_CONFIG));
            String splitSetting = settings.getString(ProducerSettings.SPLIT_CONFIG);
            ProgressWatcher watcher = splitSetting.equals("auto")
                    ? new ProgressWatcher(job, listener -> ProgressReader.follow(clients.consumer(KafkaClients.consumerConfig(clientSettings, job, "watcher")),
                            topics.encoderProgress(), List.of(job), listener), planner, time)
                    : null;
            this.split = new SplitController(job, splitSetting, planner, settings.getInt(ProducerSettings.SPLIT_REPLAN_STEPS_CONFIG), watcher,
                    tensors.values());
            String checkpointTopic = topics.checkpoints(job);
            StepRecords records = new StepRecords(job, topics.rawDeltas(job), checkpointTopic, chunkValues,
                    settings.getBoolean(ProducerSettings.WRITE_CHECKPOINTS_CONFIG), tensors.values(), coder,
                    key -> checkpointPartition(checkpointTopic, wire, key), time);
            Map<String, Object> handoverConfig = KafkaClients.consumerConfig(clientSettings, job, "handover");
            handoverConfig.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Math.max(1 << 20, 3 * recordBytes));
            this.queue = new StepQueue(settings.getLong(ProducerSettings.BUFFER_MEMORY_CONFIG));
            this.sender = new Sender(job, producer, queue, records, split, metrics,
                    () -> new HandoverReader(clients.consumer(handoverConfig), job, topics.handover(job), wire, time), tensors.values(),
                    settings.getLong(ProducerSettings.SPLIT_HANDOVER_TIMEOUT_CONFIG), time);
        } catch (RuntimeException e) {
            producer.close(Duration.ZERO);
            metrics.close();
            coder.close();
            throw e;
        }
        this.senderThread = new Thread(sender, "lcckpt-producer-" + job);
        this.senderThread.setDaemon(true);
        this.senderThread.start();
    }

    /** Bytes of one chunk record: 8 bytes per value (float64) plus the envelope. */
    static int maxRecordBytes(int chunkValues) {
        return 8 * chunkValues + 4096;
    }

    /**
     * The partition the encoder's records under this key go to (Kafka's default partitioner on the serialized key, as a
     * Streams sink without a partitioner uses): a tombstone the encoder writes later must land beside the record. The
     * partition count is looked up once.
     */
    private int checkpointPartition(String topic, WireFormat wire, SpecificRecord key) {
        if (checkpointPartitions == 0) {
            checkpointPartitions = producer.partitionsFor(topic).size();
        }
        return org.apache.kafka.common.utils.Utils.toPositive(org.apache.kafka.common.utils.Utils.murmur2(wire.encode(key))) % checkpointPartitions;
    }

    /**
     * Declares a tensor before the first step, coded with the options {@code lcckpt.codec.tensor.options} gives it (or the
     * job's). Its values are, in row-major order: float[] (FLOAT32), double[] (FLOAT64), short[] (BFLOAT16, FLOAT16: the
     * values' bits, as {@code tensor.view(torch.int16)} gives them; INT16), byte[] (INT8, UINT8 read unsigned, BOOL as 0
     * and 1), boolean[] (BOOL), int[] (INT32) or long[] (INT64). Integer and bool tensors are stored exactly.
     */
    public void registerTensor(String name, long[] shape, DType dtype) {
        registerTensor(name, shape, dtype, null);
    }

    /**
     * Declares a tensor with a coding of its own ({@code coding}; null: what {@code lcckpt.codec.tensor.options} gives
     * it, or the job's): a float tensor with codec options of its own, or stored exactly. The records carry it: the
     * encoder codes the tensor so too, and a restore needs nothing.
     *
     * @throws IllegalArgumentException for codec options on an integer or bool tensor, which is always stored exactly
     */
    public void registerTensor(String name, long[] shape, DType dtype, TensorCoding coding) {
        if (dtype == null) {
            throw new IllegalArgumentException("job " + job + ", tensor " + name + ": no dtype");
        }
        if (coding != null && !coding.isExact() && DTypes.isExact(dtype)) {
            throw new IllegalArgumentException("job " + job + ", tensor " + name + ": a " + dtype + " tensor is stored exactly; codec options do not apply");
        }
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
        TensorCoding chosen = DTypes.isExact(dtype) ? TensorCoding.exact() : coding != null ? coding : tensorRules.forTensor(name);
        boolean exact = chosen != null && chosen.isExact();
        tensors.put(name, new TensorSpec(name, shape.clone(), dtype, (int) length, chunks, exact || chosen == null ? null : chosen.options(), exact));
    }

    /**
     * Publishes step {@code step} of the registered tensors (float[] or double[] per name). The first step of a generation
     * publishes the full state; later steps the delta to the previous published one. Returns when the step's values are
     * copied and handed to the sender, blocking while {@code lcckpt.buffer.memory} is full, at most {@code max.block.ms};
     * the future completes when the step is committed, or fails with a {@link StepFailedException}.
     *
     * @throws PublishTimeoutException when no buffer space freed up in time (the step was not taken: publish it again)
     * @throws ProducerPoisonedException after a step failed, until {@link #resume}
     */
    public CompletableFuture<StepReceipt> publish(long step, Map<String, ?> values) {
        Throwable failure = sender.failure();
        if (failure != null) {
            throw new ProducerPoisonedException(job, sender.lastCommittedStep(), failure);
        }
        if (tensors.isEmpty()) {
            throw new IllegalStateException("job " + job + ": register tensors before publishing");
        }
        if (step <= lastStep) {
            throw new IllegalArgumentException("job " + job + ": step " + step + " is not after the last published step " + lastStep
                    + (step == lastStep ? " (duplicate step)" : " (out of order)"));
        }
        long entered = time.nanoseconds();
        checkValues(step, values);
        // the trainer's thread only copies the values; deltas and records are made on the sender's thread
        Map<String, Object> snapshot = new LinkedHashMap<>();
        for (String name : tensors.keySet()) {
            Object value = values.get(name);
            TensorSpec spec = tensors.get(name);
            // a 16-bit tensor's bits become float32 values of its type here, an exact tensor's values canonical longs: every
            // later step works on float, double or long arrays
            snapshot.put(name, spec.exact() ? ExactValues.toLongs(spec.dtype(), value, "job " + job + ", step " + step + ", tensor " + name)
                    : value instanceof short[] bits ? SixteenBitFloats.fromBits(spec.valueType(), bits)
                    : value instanceof float[] f ? f.clone() : ((double[]) value).clone());
        }
        int permits = queue.permitsFor(snapshot);
        long waitStart = time.nanoseconds();
        try {
            if (!queue.reserve(permits, maxBlockMs)) {
                metrics.blocked(time.nanoseconds() - waitStart);
                throw new PublishTimeoutException(job, step, maxBlockMs, sender.activity());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptException("interrupted while waiting to publish step " + step + " of job " + job, e);
        }
        metrics.blocked(time.nanoseconds() - waitStart);
        // taken: from here on the step is the chain's next
        boolean initial = initialPending;
        // the trainer's own time per step: from the end of the last publish (back-pressure excluded) to this one, and the
        // whole period (included); not after an initial state, which trainers often wait on (restored, loaded, or awaited)
        double interval = lastPublishEnd == 0 || afterInitial ? Double.NaN : (entered - lastPublishEnd) / 1e9;
        double period = lastPublishEntered == 0 || afterInitial ? Double.NaN : (entered - lastPublishEntered) / 1e9;
        lastPublishEntered = entered;
        afterInitial = initial;
        initialPending = false;
        lastStep = step;
        CompletableFuture<StepReceipt> receipt = new CompletableFuture<>();
        queue.add(new PendingStep(generation, initial && resumedFrom >= 0 ? resumedFrom : null, step, snapshot, initial, receipt, permits,
                interval, period, split.atPublish()));
        lastPublishEnd = time.nanoseconds();
        return receipt;
    }

    private static String arrayOf(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> "float[]";
            case FLOAT64 -> "double[]";
            case BFLOAT16, FLOAT16 -> "short[] of the values' bits";
            default -> ExactValues.arrays(dtype);
        };
    }

    private void checkValues(long step, Map<String, ?> values) {
        for (TensorSpec spec : tensors.values()) {
            Object value = values.get(spec.name());
            String where = "job " + job + ", step " + step + ", tensor " + spec.name();
            if (value == null) {
                throw new IllegalArgumentException(where + ": missing");
            }
            int length = value.getClass().isArray() ? java.lang.reflect.Array.getLength(value) : -1;
            boolean matches = DTypes.isExact(spec.dtype()) ? ExactValues.accepts(spec.dtype(), value)
                    : value instanceof float[] ? spec.dtype() == DType.FLOAT32 : value instanceof double[] ? spec.dtype() == DType.FLOAT64
                    : value instanceof short[] && (spec.dtype() == DType.BFLOAT16 || spec.dtype() == DType.FLOAT16);
            if (!matches) {
                throw new IllegalArgumentException(where + ": registered as " + spec.dtype() + " (" + arrayOf(spec.dtype()) + ") but got "
                        + value.getClass().getSimpleName());
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
     * After a crash: continue from {@code step}, whose (restored) state is {@code state}. Starts a new generation whose
     * first record is that full state; records of the crashed generation after {@code step} are never part of it.
     * Returns the initial state's receipt, as {@link #publish} does.
     */
    public CompletableFuture<StepReceipt> resume(long step, Map<String, ?> state) {
        drain();
        sender.clearFailure();
        generation = Math.max(time.milliseconds(), generation + 1);
        resumedFrom = step;
        initialPending = true;
        lastStep = step - 1;
        return publish(step, state);
    }

    /** Waits until every published step is committed or failed. */
    public void drain() {
        try {
            queue.awaitIdle();
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
        return metrics.bytesSent();
    }

    /** Bytes of raw values of the steps committed so far (what the storage split would have sent). */
    public long rawBytesCommitted() {
        return metrics.rawBytesCommitted();
    }

    /**
     * Asks for a split from the next step published on (with split=auto: from the next step sent, and the planner may
     * change it again at its next plan). Switching to the trainer waits for the encoder's handover after that step;
     * switching back folds the residual into the next delta.
     */
    public void requestSplit(Split split) {
        this.split.request(split);
    }

    /** The split the last built step used (TRAINER: it was coded here). */
    public Split currentSplit() {
        return metrics.trainerSplit() ? Split.TRAINER : Split.STORAGE;
    }

    /** Times the split changed (each hands the residual over). */
    public long splitSwitches() {
        return metrics.splitSwitches();
    }

    /** Time the sender spent coding chunks under the trainer split. */
    public Duration codingTime() {
        return Duration.ofNanos(metrics.codingNanos());
    }

    /** split=auto: the planner's last prediction, or null before its first. */
    public SplitPlanner.Plan lastPlan() {
        return split.lastPlan();
    }

    /** Time publish() spent blocked by back-pressure. */
    public Duration timeBlocked() {
        return Duration.ofNanos(metrics.blockedNanos());
    }

    /** The producer's metrics (also on JMX, see {@link ProducerMetrics}); each is in group {@value ProducerMetrics#GROUP}. */
    public Metrics metrics() {
        return metrics.registry();
    }

    @Override
    public void close() {
        drain();
        sender.initiateClose();
        try {
            senderThread.join(Duration.ofSeconds(30).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close(Duration.ofSeconds(30));
        split.close();
        metrics.close();
        coder.close();
    }

    /** Gives up at once, as a dead process would: nothing waiting is sent, an open transaction is left to be fenced. */
    public void abandon() {
        sender.initiateClose();
        queue.clear();
        senderThread.interrupt();
        producer.close(Duration.ZERO);
        split.close();
        metrics.close();
        coder.close();
    }
}
