package io.lccheckpoint.encoder;

import io.lccheckpoint.schema.kafka.Topics;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
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
        // new jobs' topics are found by the pattern subscription within this time
        properties.put(StreamsConfig.consumerPrefix(ConsumerConfig.METADATA_MAX_AGE_CONFIG), 5000);
        properties.putAll(settings.streamsSettings());
        return properties;
    }

    /** Creates the progress topic if missing (the per-job topics are created by producers or by an operator). */
    public static void createTopics(EncoderSettings settings) {
        Topics topics = new Topics(settings.getString(EncoderSettings.TOPIC_PREFIX_CONFIG));
        // the admin client takes the connection and security settings among the Streams settings
        Map<String, Object> admin = new HashMap<>(settings.streamsSettings());
        admin.keySet().retainAll(org.apache.kafka.clients.admin.AdminClientConfig.configNames());
        try (Admin client = Admin.create(admin)) {
            client.createTopics(List.of(new NewTopic(EncoderTopology.progressTopic(topics),
                    Optional.of(settings.getInt(EncoderSettings.PROGRESS_PARTITIONS_CONFIG)), Optional.empty()))).all().get();
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new KafkaException("cannot create the encoder's progress topic", e.getCause());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public static KafkaStreams start(Map<String, ?> config) {
        EncoderSettings settings = new EncoderSettings(config);
        createTopics(settings);
        KafkaStreams streams = new KafkaStreams(EncoderTopology.build(settings), streamsConfig(settings));
        streams.start();
        return streams;
    }

    /** {@code java -cp ... io.lccheckpoint.encoder.EncoderApp encoder.properties} */
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
        KafkaStreams streams = start(config);
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close();
            done.countDown();
        }, "lcckpt-encoder-shutdown"));
        done.await();
    }
}
