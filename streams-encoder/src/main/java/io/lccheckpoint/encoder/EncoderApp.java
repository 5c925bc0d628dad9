package io.lccheckpoint.encoder;

import io.lccheckpoint.schema.kafka.Topics;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

/** Runs the encoder: {@code streamsConfig} and {@code buildTopology} are separate so tests can use both. */
public final class EncoderApp {
    private EncoderApp() {
    }

    /** Kafka Streams settings: the user's, over our defaults (exactly-once v2, record sizes for supersteps). */
    public static Properties streamsConfig(EncoderSettings settings) {
        Properties properties = new Properties();
        int recordBytes = settings.getInt(EncoderSettings.MAX_RECORD_BYTES_CONFIG);
        properties.put(StreamsConfig.APPLICATION_ID_CONFIG, "lcckpt-encoder");
        properties.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        properties.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), 3 * recordBytes + 4096);
        properties.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG), 3 * recordBytes + 4096);
        properties.put(StreamsConfig.topicPrefix("max.message.bytes"), Integer.toString(3 * recordBytes));
        // A chunk's state is written to the changelog once per commit, not once per step, when steps arrive faster than
        // commits (a lagging or catching-up encoder): the record cache collapses the updates in between.
        properties.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
        properties.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 128L << 20);
        long budget = settings.getLong(EncoderSettings.MEMORY_BUDGET_CONFIG);
        if (budget > 0) {
            budgetedMemory(settings, budget, recordBytes).forEach(properties::put);
        }
        // new jobs' topics are found by the pattern subscription within this time
        properties.put(StreamsConfig.consumerPrefix(ConsumerConfig.METADATA_MAX_AGE_CONFIG), 5000);
        outageDefaults().forEach(properties::put);
        properties.putAll(settings.streamsSettings());
        checkStallBelowMaxBlock(settings, properties);
        return properties;
    }

    /**
     * Reliability defaults (issue #11; the README's reliability section). The producer waits for brokers (a commit, a
     * write, metadata) up to {@code max.block.ms} = 15 min, far beyond Streams' 60 s: a producer timeout is handled by
     * Streams as a corrupted task, which under exactly-once v2 can commit one task's outputs without its offsets or the
     * reverse, and so lose committed steps. Before the wait can time out, the encoder's stall watchdog
     * ({@link EncoderSettings#STALL_EXIT_MS_CONFIG}, 10 min) exits. {@code max.poll.interval.ms} stays above
     * {@code max.block.ms}, as Kafka's StreamsConfig asks. A SIGKILLed instance's partitions are taken over once its session
     * expires: 10 s instead of 45.
     */
    static Map<String, Object> outageDefaults() {
        return Map.of(
                StreamsConfig.producerPrefix(ProducerConfig.MAX_BLOCK_MS_CONFIG), 900_000,
                StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG), 960_000,
                StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 10_000,
                StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 3_000,
                StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, FailOnSendError.class.getName());
    }

    private static void checkStallBelowMaxBlock(EncoderSettings settings, Properties properties) {
        Object maxBlock = properties.getOrDefault(StreamsConfig.producerPrefix(ProducerConfig.MAX_BLOCK_MS_CONFIG),
                properties.get(ProducerConfig.MAX_BLOCK_MS_CONFIG));
        long stall = settings.getLong(EncoderSettings.STALL_EXIT_MS_CONFIG);
        if (maxBlock != null && Long.parseLong(String.valueOf(maxBlock)) <= stall) {
            throw new org.apache.kafka.common.config.ConfigException(EncoderSettings.STALL_EXIT_MS_CONFIG, stall,
                    "must be below the producer's max.block.ms (" + maxBlock + "): a producer timeout inside Kafka Streams can lose committed steps");
        }
    }

    /**
     * The Kafka and Streams settings a memory budget implies (see {@link EncoderSettings#MEMORY_BUDGET_CONFIG}): the
     * buffers are sized in bytes from the budget, not in records of the trainers' chunk size.
     */
    static Map<String, Object> budgetedMemory(EncoderSettings settings, long budget, int recordBytes) {
        if (settings.getString(EncoderSettings.STATE_STORE_CONFIG).equals("memory")) {
            throw new org.apache.kafka.common.config.ConfigException(EncoderSettings.MEMORY_BUDGET_CONFIG, budget,
                    "a memory budget needs lcckpt.state.store=rocksdb: the memory store keeps every job's state (8 bytes per value) on the heap");
        }
        int maxRequest = 3 * recordBytes + 4096;
        int partitions = settings.getInt(EncoderSettings.MEMORY_PARTITIONS_CONFIG);
        // each stream thread has its own consumer and (exactly-once v2) producer, and the instance a restore consumer:
        // a client setting's slice of the budget is shared among the clients that get the setting
        int threads = Integer.parseInt(String.valueOf(settings.streamsSettings().getOrDefault(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "1")));
        int consumers = threads + 1;
        Map<String, Object> derived = new HashMap<>();
        derived.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, (long) EncoderSettings.MemoryShare.RECORD_CACHE.of(budget));
        derived.put(StreamsConfig.BUFFERED_RECORDS_PER_PARTITION_CONFIG, (int) Math.max(1, EncoderSettings.MemoryShare.INPUT_BUFFERS.of(budget) / ((long) recordBytes * partitions)));
        derived.put(StreamsConfig.consumerPrefix(ConsumerConfig.FETCH_MAX_BYTES_CONFIG),
                (int) Math.max(maxRequest, Math.min(Integer.MAX_VALUE, EncoderSettings.MemoryShare.FETCHES.of(budget) / consumers)));
        derived.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), (int) Math.max(1, EncoderSettings.MemoryShare.FETCHES.of(budget) / recordBytes / threads));
        derived.put(StreamsConfig.producerPrefix(ProducerConfig.BUFFER_MEMORY_CONFIG), (long) Math.max(2L * maxRequest, EncoderSettings.MemoryShare.PRODUCER_BUFFER.of(budget) / threads));
        derived.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedRocksDb.class.getName());
        derived.put(BoundedRocksDb.BYTES_CONFIG, Long.toString((long) EncoderSettings.MemoryShare.ROCKSDB.of(budget)));
        // what the user set explicitly wins
        derived.keySet().removeAll(settings.streamsSettings().keySet());
        return derived;
    }

    /**
     * Creates the encoder's own topics if missing: the progress topic and the encoder's dead-letter topic (the per-job
     * topics are created by producers or by an operator).
     */
    public static void createTopics(EncoderSettings settings) {
        Topics topics = new Topics(settings.getString(EncoderSettings.TOPIC_PREFIX_CONFIG));
        // the admin client takes the connection and security settings among the Streams settings
        Map<String, Object> admin = new HashMap<>(settings.streamsSettings());
        admin.keySet().retainAll(org.apache.kafka.clients.admin.AdminClientConfig.configNames());
        int recordBytes = settings.getInt(EncoderSettings.MAX_RECORD_BYTES_CONFIG);
        try (Admin client = Admin.create(admin)) {
            var results = client.createTopics(List.of(
                    new NewTopic(EncoderTopology.progressTopic(topics), Optional.of(settings.getInt(EncoderSettings.PROGRESS_PARTITIONS_CONFIG)), Optional.empty()),
                    new NewTopic(topics.encoderDeadLetters(), Optional.of(1), Optional.empty()).configs(Topics.rawTopicConfig(recordBytes)))).values();
            for (var result : results.entrySet()) {
                try {
                    result.getValue().get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new KafkaException("cannot create the encoder's topic " + result.getKey() + ": " + e.getCause().getMessage(), e.getCause());
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Starts an encoder in this JVM (the embedded commands and the tests); {@link EncoderService} runs one as a process. */
    public static KafkaStreams start(Map<String, ?> config) {
        KafkaStreams streams = create(new EncoderSettings(config), new TaskHeartbeats(), (newState, oldState) -> { });
        streams.start();
        return streams;
    }

    /** Creates the encoder's topics and its Streams client, not yet started; {@code listener} sees every state change. */
    static KafkaStreams create(EncoderSettings settings, TaskHeartbeats heartbeats, KafkaStreams.StateListener listener) {
        Properties properties = streamsConfig(settings);
        createTopics(settings);
        TopicCheck topicCheck = TopicCheck.admin(settings.streamsSettings());
        Map<String, Object> clients = new HashMap<>();
        properties.forEach((key, value) -> clients.put((String) key, value));
        ChainRebuilder.Logs logs = new KafkaChainLogs(clients, settings.getInt(EncoderSettings.MAX_RECORD_BYTES_CONFIG));
        RawTrimmer trimmer = RawTrimmer.admin(clients, String.valueOf(properties.get(StreamsConfig.APPLICATION_ID_CONFIG)), java.time.Duration.ofSeconds(5));
        KafkaStreams streams = new KafkaStreams(EncoderTopology.build(settings, topicCheck, heartbeats, logs, trimmer), properties);
        streams.setStateListener((newState, oldState) -> {
            if (newState == KafkaStreams.State.NOT_RUNNING || newState == KafkaStreams.State.ERROR) {
                topicCheck.close();
                trimmer.close();
            }
            listener.onChange(newState, oldState);
        });
        return streams;
    }

    /** The memory budget's pool (from the instance's metrics) and the heap's sampled peak, for logs and the HAPI experiment. */
    static String memoryFigures(KafkaStreams streams, EncoderSettings settings, long heapPeak) {
        double peak = 0;
        double waits = 0;
        double overruns = 0;
        for (var metric : streams.metrics().values()) {
            String name = metric.metricName().name();
            Object value = metric.metricValue();
            if (!(value instanceof Double d)) {
                continue;
            }
            switch (name) {
                case "memory-peak-bytes" -> peak = Math.max(peak, d);
                case "memory-waits-total" -> waits = Math.max(waits, d);
                case "memory-overruns-total" -> overruns = Math.max(overruns, d);
                default -> { }
            }
        }
        long budget = settings.getLong(EncoderSettings.MEMORY_BUDGET_CONFIG);
        long max = Runtime.getRuntime().maxMemory();
        return String.format(java.util.Locale.ROOT, "chunks in flight peak %.1f MB%s, %.0f waits, %.0f overruns; live heap after collections peak %.0f MB of %.0f MB",
                peak / 1e6, budget > 0 ? String.format(java.util.Locale.ROOT, " of %.1f MB", EncoderSettings.MemoryShare.CHUNKS_IN_FLIGHT.of(budget) / 1e6) : " (no budget)", waits, overruns,
                heapPeak / 1e6, max / 1e6);
    }

    /**
     * Samples the heap on a daemon thread and keeps the highest live size seen: the sum over the heap's pools of what
     * each held after its last collection (garbage not counted, unlike the heap's "used").
     */
    static final class HeapSampler {
        private final java.util.concurrent.atomic.AtomicLong peak = new java.util.concurrent.atomic.AtomicLong();

        HeapSampler() {
            Thread thread = new Thread(() -> {
                List<java.lang.management.MemoryPoolMXBean> pools = java.lang.management.ManagementFactory.getMemoryPoolMXBeans().stream()
                        .filter(pool -> pool.getType() == java.lang.management.MemoryType.HEAP && pool.getCollectionUsage() != null).toList();
                while (true) {
                    long live = 0;
                    for (java.lang.management.MemoryPoolMXBean pool : pools) {
                        live += pool.getCollectionUsage().getUsed();
                    }
                    peak.accumulateAndGet(live, Math::max);
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "lcckpt-heap-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        long peak() {
            return peak.get();
        }
    }

    /** {@code java -cp ... io.lccheckpoint.encoder.EncoderApp encoder.properties}: as {@code lcckpt encoder --config}. */
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: EncoderApp <encoder.properties>");
            System.exit(2);
        }
        Properties file = new Properties();
        try (var in = java.nio.file.Files.newInputStream(java.nio.file.Path.of(args[0]))) {
            file.load(in);
        }
        Map<String, Object> config = new HashMap<>();
        file.forEach((key, value) -> config.put((String) key, value));
        System.exit(EncoderService.run(config));
    }
}
