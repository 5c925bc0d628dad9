package io.lccheckpoint.producer.internals;

import java.util.HashMap;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Where the producer gets its Kafka clients, as Kafka Streams' {@code KafkaClientSupplier}: the real clients by default,
 * {@code MockProducer}/{@code MockConsumer} in unit tests. Every client gets the user's Kafka settings (security
 * included), filtered to the ones it knows.
 */
public interface KafkaClients {

    Producer<SpecificRecord, SpecificRecord> producer(Map<String, Object> config, Serializer<SpecificRecord> keys, Serializer<SpecificRecord> values);

    Consumer<byte[], byte[]> consumer(Map<String, Object> config);

    Admin admin(Map<String, Object> config);

    KafkaClients DEFAULT = new KafkaClients() {
        @Override
        public Producer<SpecificRecord, SpecificRecord> producer(Map<String, Object> config, Serializer<SpecificRecord> keys,
                                                                  Serializer<SpecificRecord> values) {
            return new KafkaProducer<>(config, keys, values);
        }

        @Override
        public Consumer<byte[], byte[]> consumer(Map<String, Object> config) {
            return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        }

        @Override
        public Admin admin(Map<String, Object> config) {
            return Admin.create(config);
        }
    };

    /**
     * A read_committed consumer's settings without a group, from the producer's Kafka settings; its client.id is the
     * producer's with {@code -role} appended.
     */
    static Map<String, Object> consumerConfig(Map<String, Object> kafkaSettings, String job, String role) {
        Map<String, Object> config = new HashMap<>(kafkaSettings);
        config.keySet().retainAll(ConsumerConfig.configNames());
        config.remove(ConsumerConfig.GROUP_ID_CONFIG);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, kafkaSettings.getOrDefault(ProducerConfig.CLIENT_ID_CONFIG, "lcckpt-trainer-" + job) + "-" + role);
        return config;
    }

    /** An admin client's settings: the connection and security settings among the producer's. */
    static Map<String, Object> adminConfig(Map<String, Object> kafkaSettings) {
        Map<String, Object> config = new HashMap<>(kafkaSettings);
        config.keySet().retainAll(AdminClientConfig.configNames());
        return config;
    }
}
