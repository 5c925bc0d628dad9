package io.lccheckpoint.producer;

import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.StepManifest;
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

/**
 * What a trainer links (DESIGN.md §3): register tensors, then {@code publish(step, tensors)} every step. The producer
 * keeps a copy of the last published state, publishes the initial full state first and raw deltas
 * {@code u_t − u_{t−1}} after, chunked, each step inside one Kafka transaction (readers use {@code read_committed}, so a
 * step is visible whole or not at all). Sending is asynchronous with at most {@code lcckpt.buffer.memory} bytes in
 * flight; {@link #publish} blocks beyond that (time blocked is measured). After a crash, {@link #resume} starts a
 * new generation from the restored state.
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
                               CompletableFuture<StepReceipt> receipt, int permits) {
    }

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
    private final KafkaProducer<ChunkKey, SpecificRecord> producer;
    private final BlockingQueue<PendingStep> queue = new LinkedBlockingQueue<>();
    private final Thread sender;
    private final Semaphore inFlight;
    private volatile boolean closing;
    private final int bufferPermits;
    private final Map<String, TensorSpec> tensors = new LinkedHashMap<>();
    private final Map<String, Object> lastPublished = new HashMap<>();
    private final LongAdder bytesSent = new LongAdder();
    private final LongAdder nanosBlocked = new LongAdder();

    private long generation;
    private long resumedFrom = -1;
    private long lastStep = -1;
    private boolean initialPending = true;
    private volatile Throwable failure;

    public CheckpointProducer(Map<String, ?> config) {
        this.settings = new ProducerSettings(config);
        this.job = Topics.checkJob(settings.getString(ProducerSettings.JOB_CONFIG));
        Topics topics = new Topics(settings.getString(ProducerSettings.TOPIC_PREFIX_CONFIG));
        this.rawTopic = topics.rawDeltas(job);
        this.chunkValues = settings.getInt(ProducerSettings.CHUNK_VALUES_CONFIG);
        long configured = settings.getLong(ProducerSettings.GENERATION_CONFIG);
        this.generation = configured >= 0 ? configured : System.currentTimeMillis();
        int recordBytes = maxRecordBytes(chunkValues);

        WireFormat wire = WireFormat.fromConfig(settings.originals());
        Map<String, Object> kafka = settings.kafkaSettings();
        kafka.keySet().removeIf(WireFormat::isWireFormatSetting);
        if (settings.getBoolean(ProducerSettings.CREATE_TOPICS_CONFIG)) {
            createTopics(kafka, topics, recordBytes);
        }
        kafka.putIfAbsent(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "lcckpt-trainer-" + job);
        kafka.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
        kafka.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 5);
        kafka.putIfAbsent(ProducerConfig.BATCH_SIZE_CONFIG, 1 << 20);
        kafka.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Math.max(1 << 20, recordBytes));
        kafka.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "lcckpt-trainer-" + job);
        org.apache.kafka.common.serialization.Serializer<ChunkKey> keys = (topic, key) -> wire.encode(key);
        org.apache.kafka.common.serialization.Serializer<SpecificRecord> values = (topic, value) -> value == null ? null : wire.encode(value);
        this.producer = new KafkaProducer<>(kafka, keys, values);
        this.producer.initTransactions();
        this.bufferPermits = (int) Math.min(Integer.MAX_VALUE, settings.getLong(ProducerSettings.BUFFER_MEMORY_CONFIG) / 1024);
        this.inFlight = new Semaphore(bufferPermits);
        this.sender = new Thread(this::sendLoop, "lcckpt-producer-" + job);
        this.sender.setDaemon(true);
        this.sender.start();
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
                new NewTopic(topics.deadLetters(job), java.util.Optional.of(1), factor).configs(Topics.rawTopicConfig(recordBytes)));
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
        checkValues(step, values);
        boolean initial = initialPending;
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
        queue.add(new PendingStep(generation, initial && resumedFrom >= 0 ? resumedFrom : null, step, snapshot, initial, receipt, permits));
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

    private void send(List<PendingStep> batch) {
        long start = System.nanoTime();
        try {
            if (failure != null) {
                throw new KafkaException("not sent: an earlier step failed", failure);
            }
            List<List<ProducerRecord<ChunkKey, SpecificRecord>>> built = new ArrayList<>();
            for (PendingStep step : batch) {
                built.add(buildRecords(step.generation(), step.resumedFrom(), step.step(), step.snapshot(), step.initial()));
            }
            producer.beginTransaction();
            long[] bytes = new long[batch.size()];
            for (int k = 0; k < batch.size(); k++) {
                for (ProducerRecord<ChunkKey, SpecificRecord> record : built.get(k)) {
                    producer.send(record);
                    if (record.value() instanceof RawDeltaChunk chunk) {
                        bytes[k] += chunk.getValues().remaining();
                    }
                }
            }
            producer.commitTransaction();
            Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
            for (int k = 0; k < batch.size(); k++) {
                PendingStep step = batch.get(k);
                bytesSent.add(bytes[k]);
                step.receipt().complete(new StepReceipt(step.generation(), step.step(), built.get(k).size() - 1, bytes[k], elapsed));
            }
        } catch (RuntimeException e) {
            failure = e;
            try {
                producer.abortTransaction();
            } catch (RuntimeException ignored) {
                // fenced or closed: nothing of these steps was committed either way
            }
            for (PendingStep step : batch) {
                step.receipt().completeExceptionally(new KafkaException("job " + job + ": step " + step.step() + " was not committed", e));
            }
        }
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

    /** On the sender's thread: the step's manifest and chunks, deltas against the last published values it keeps. */
    private List<ProducerRecord<ChunkKey, SpecificRecord>> buildRecords(long generation, Long resumedFrom, long step, Map<String, Object> values,
                                                                        boolean initial) {
        int stepChunks = tensors.values().stream().mapToInt(TensorSpec::chunkCount).sum();
        List<ProducerRecord<ChunkKey, SpecificRecord>> records = new ArrayList<>(stepChunks + 1);
        List<TensorInfo> infos = new ArrayList<>();
        for (TensorSpec spec : tensors.values()) {
            List<Long> shape = new ArrayList<>();
            for (long dimension : spec.shape()) {
                shape.add(dimension);
            }
            infos.add(new TensorInfo(spec.name(), shape, spec.dtype(), chunkValues, spec.chunkCount()));
        }
        StepManifest manifest = new StepManifest(job, generation, step, resumedFrom, infos);
        records.add(new ProducerRecord<>(rawTopic, new ChunkKey(job, "", -1), manifest));
        for (TensorSpec spec : tensors.values()) {
            Object value = values.get(spec.name());
            Object previous = lastPublished.get(spec.name());
            for (int chunk = 0; chunk < spec.chunkCount(); chunk++) {
                int from = chunk * chunkValues;
                int to = Math.min(spec.length(), from + chunkValues);
                ByteBuffer bytes = chunkBytes(value, initial ? null : previous, from, to);
                RawDeltaChunk record = new RawDeltaChunk(job, generation, step, spec.name(), chunk, spec.chunkCount(), stepChunks,
                        spec.dtype(), initial, bytes);
                records.add(new ProducerRecord<>(rawTopic, new ChunkKey(job, spec.name(), chunk), record));
            }
            lastPublished.put(spec.name(), value);
        }
        return records;
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

    /** Bytes of raw values committed so far. */
    public long bytesSent() {
        return bytesSent.sum();
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
    }

    /** Gives up at once, as a dead process would: nothing waiting is sent, an open transaction is left to be fenced. */
    public void abandon() {
        closing = true;
        queue.clear();
        sender.interrupt();
        producer.close(Duration.ZERO);
    }
}
