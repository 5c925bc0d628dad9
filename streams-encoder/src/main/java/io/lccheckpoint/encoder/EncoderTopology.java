package io.lccheckpoint.encoder;

import io.lccheckpoint.schema.kafka.Topics;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.RecordContext;
import org.apache.kafka.streams.processor.TopicNameExtractor;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * The encoder's topology, built without a broker so unit tests can drive it (TopologyTestDriver) and integration tests
 * can run the same thing against a real one:
 * <pre>
 * &lt;prefix&gt;.*.raw-deltas ─► encode (chunk state) ─┬─► &lt;prefix&gt;.&lt;job&gt;.checkpoints   (encoded chunks, supersteps, tombstones)
 *                                               ├─► &lt;prefix&gt;.&lt;job&gt;.dead-letters (or &lt;prefix&gt;.encoder-dead-letters)
 *                                               ├─► &lt;prefix&gt;.&lt;job&gt;.handover      (chunk states for a trainer taking over the coding)
 *                                               └─► &lt;prefix&gt;.encoder-progress ─► complete (step progress) ─► checkpoints + index (markers)
 * </pre>
 */
public final class EncoderTopology {
    private EncoderTopology() {
    }

    public static String progressTopic(Topics topics) {
        return topics.encoderProgress();
    }

    /**
     * For unit tests without a broker: every topic exists, nobody watches the heartbeats, nothing is trimmed, and a task's
     * local state is never lost (a rebuild, which reads the brokers, fails).
     */
    static Topology build(EncoderSettings settings) {
        return build(settings, TopicCheck.ALL_EXIST, new TaskHeartbeats(), NO_LOGS, RawTrimmer.NONE);
    }

    static Topology build(EncoderSettings settings, TopicCheck topicCheck, TaskHeartbeats heartbeats) {
        return build(settings, topicCheck, heartbeats, NO_LOGS, RawTrimmer.NONE);
    }

    static final ChainRebuilder.Logs NO_LOGS = new ChainRebuilder.Logs() {
        @Override
        public void checkpoints(String topic, long fromTimestamp, java.util.function.Predicate<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> each) {
            throw new IllegalStateException("no brokers to rebuild from");
        }

        @Override
        public void raw(org.apache.kafka.common.TopicPartition partition, long fromOffset, long toOffset,
                        java.util.function.Predicate<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> each) {
            throw new IllegalStateException("no brokers to rebuild from");
        }

        @Override
        public ChainRebuilder.PositionReader positionReader() {
            return new ChainRebuilder.PositionReader() {
                @Override
                public org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> read(org.apache.kafka.common.TopicPartition partition, long offset) {
                    throw new IllegalStateException("no brokers to read " + partition + " from");
                }

                @Override
                public void close() {
                }
            };
        }
    };

    static Topology build(EncoderSettings settings, TopicCheck topicCheck, TaskHeartbeats heartbeats, ChainRebuilder.Logs logs, RawTrimmer trimmer) {
        Topics topics = new Topics(settings.getString(EncoderSettings.TOPIC_PREFIX_CONFIG));
        SuperstepPolicy policy = SuperstepPolicy.of(settings);
        int retain = policy.retain();
        Map<String, String> changelog = Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG,
                Integer.toString(3 * settings.getInt(EncoderSettings.MAX_RECORD_BYTES_CONFIG)));
        boolean inMemory = settings.getString(EncoderSettings.STATE_STORE_CONFIG).equals("memory");
        long budget = settings.getLong(EncoderSettings.MEMORY_BUDGET_CONFIG);
        // one pool per topology (per instance), shared by its stream threads; unbounded without a budget
        WorkingMemory working = new WorkingMemory(budget > 0 ? (long) EncoderSettings.MemoryShare.CHUNKS_IN_FLIGHT.of(budget) : Long.MAX_VALUE / 4, 120_000);
        // the books: small, written at events only, changelogged; the working states: full size, every step, local only
        StoreBuilder<KeyValueStore<String, byte[]>> bookStore = Stores.keyValueStoreBuilder(
                inMemory ? Stores.inMemoryKeyValueStore(EncodeProcessor.STORE) : Stores.persistentKeyValueStore(EncodeProcessor.STORE),
                Serdes.String(), Serdes.ByteArray()).withLoggingEnabled(changelog).withCachingEnabled();
        StoreBuilder<KeyValueStore<String, byte[]>> workStore = Stores.keyValueStoreBuilder(
                inMemory ? Stores.inMemoryKeyValueStore(EncodeProcessor.WORK_STORE) : Stores.persistentKeyValueStore(EncodeProcessor.WORK_STORE),
                Serdes.String(), Serdes.ByteArray()).withLoggingDisabled().withCachingEnabled();
        StoreBuilder<KeyValueStore<String, byte[]>> progressStore = Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(CompletionProcessor.STORE), Serdes.String(), Serdes.ByteArray()).withLoggingEnabled(Map.of());

        Topology topology = new Topology();
        topology.addSource("raw-deltas", new ByteArrayDeserializer(), new ByteArrayDeserializer(), topics.rawDeltaPattern());
        topology.addProcessor("encode", () -> new EncodeProcessor(topics, settings.wireFormat(), settings.codecOptions(), policy, working, topicCheck, heartbeats,
                logs, trimmer, settings.getInt(EncoderSettings.MAX_RECORD_BYTES_CONFIG)), "raw-deltas");
        topology.addStateStore(bookStore, "encode");
        topology.addStateStore(workStore, "encode");
        topology.addSink(Outputs.CHECKPOINT_SINK, byJob(topics), new ByteArraySerializer(), new ByteArraySerializer(), "encode");
        // the processor picked the dead-letter topic (the job's, or the encoder's own when the job has none)
        topology.addSink(Outputs.DEAD_LETTER_SINK, (key, value, context) -> header(context, Outputs.TOPIC_HEADER), new ByteArraySerializer(),
                new ByteArraySerializer(), "encode");
        topology.addSink(Outputs.HANDOVER_SINK, (key, value, context) -> topics.handover(job(context)), new ByteArraySerializer(),
                new ByteArraySerializer(), "encode");
        topology.addSink(Outputs.PROGRESS_SINK, progressTopic(topics), new ByteArraySerializer(), new ByteArraySerializer(), "encode");

        topology.addSource("progress", new ByteArrayDeserializer(), new ByteArrayDeserializer(), progressTopic(topics));
        topology.addProcessor("complete", () -> new CompletionProcessor(settings.wireFormat(), retain, heartbeats), "progress");
        topology.addStateStore(progressStore, "complete");
        topology.addSink(Outputs.MARKER_SINK, byJob(topics), new ByteArraySerializer(), new ByteArraySerializer(), "complete");
        topology.addSink(Outputs.INDEX_SINK, (key, value, context) -> topics.index(job(context)), new ByteArraySerializer(),
                new ByteArraySerializer(), "complete");
        return topology;
    }

    private static TopicNameExtractor<byte[], byte[]> byJob(Topics topics) {
        return (key, value, context) -> topics.checkpoints(job(context));
    }

    private static String job(RecordContext context) {
        return header(context, Outputs.JOB_HEADER);
    }

    private static String header(RecordContext context, String name) {
        Header header = context.headers().lastHeader(name);
        return new String(header.value(), StandardCharsets.UTF_8);
    }
}
