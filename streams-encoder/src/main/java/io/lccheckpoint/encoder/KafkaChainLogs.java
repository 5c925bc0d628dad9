package io.lccheckpoint.encoder;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The logs a rebuild reads, from the brokers: consumers of its own (no group, assigned partitions) made from the
 * encoder's Kafka settings, security settings included ({@code consumer.}-prefixed ones win). The checkpoint topic is read
 * uncommitted (see {@link ChainRebuilder}: it never waits for a transaction), the raw-delta partition committed, as the
 * encoder consumed it.
 */
final class KafkaChainLogs implements ChainRebuilder.Logs {
    private final Map<String, Object> consumerConfig;

    KafkaChainLogs(Map<String, Object> streamsSettings, int maxRecordBytes) {
        consumerConfig = new HashMap<>(streamsSettings);
        consumerConfig.keySet().retainAll(ConsumerConfig.configNames());
        streamsSettings.forEach((key, value) -> {
            if (key.startsWith(StreamsConfig.CONSUMER_PREFIX) && ConsumerConfig.configNames().contains(key.substring(StreamsConfig.CONSUMER_PREFIX.length()))) {
                consumerConfig.put(key.substring(StreamsConfig.CONSUMER_PREFIX.length()), value);
            }
        });
        consumerConfig.remove(ConsumerConfig.GROUP_ID_CONFIG);
        consumerConfig.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        consumerConfig.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        consumerConfig.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        consumerConfig.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        consumerConfig.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 3 * maxRecordBytes + 4096);
        consumerConfig.put(ConsumerConfig.CLIENT_ID_CONFIG, consumerConfig.getOrDefault(ConsumerConfig.CLIENT_ID_CONFIG, "lcckpt-encoder") + "-rebuild");
    }

    private KafkaConsumer<byte[], byte[]> consumer(IsolationLevel isolation) {
        Map<String, Object> config = new HashMap<>(consumerConfig);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation.toString().toLowerCase(Locale.ROOT));
        return new KafkaConsumer<>(config);
    }

    @Override
    public void checkpoints(String topic, long fromTimestamp, Predicate<ConsumerRecord<byte[], byte[]>> each) {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(IsolationLevel.READ_UNCOMMITTED)) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream().map(info -> new TopicPartition(topic, info.partition())).toList();
            consumer.assign(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            Map<TopicPartition, Long> times = new HashMap<>();
            partitions.forEach(partition -> times.put(partition, fromTimestamp));
            Map<TopicPartition, OffsetAndTimestamp> starts = consumer.offsetsForTimes(times);
            for (TopicPartition partition : partitions) {
                OffsetAndTimestamp start = starts.get(partition);
                consumer.seek(partition, start == null ? end.get(partition) : start.offset());
            }
            while (partitions.stream().anyMatch(partition -> consumer.position(partition) < end.get(partition))) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (record.offset() < end.get(new TopicPartition(record.topic(), record.partition())) && !each.test(record)) {
                        return;
                    }
                }
            }
        }
    }

    @Override
    public void raw(TopicPartition partition, long fromOffset, long toOffset, Predicate<ConsumerRecord<byte[], byte[]>> each) {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(IsolationLevel.READ_COMMITTED)) {
            consumer.assign(List.of(partition));
            long first = consumer.beginningOffsets(List.of(partition)).get(partition);
            if (first > fromOffset) {
                throw new KafkaException("rebuilding from " + partition + ": its records from offset " + fromOffset + " are needed but the partition starts at "
                        + first + " (deleted by retention or by hand?)");
            }
            consumer.seek(partition, fromOffset);
            // the records before toOffset were consumed by the encoder, so they are committed: the position gets there
            while (consumer.position(partition) < toOffset) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (record.offset() >= toOffset || !each.test(record)) {
                        return;
                    }
                }
            }
        }
    }
}
