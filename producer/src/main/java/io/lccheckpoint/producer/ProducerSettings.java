package io.lccheckpoint.producer;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;

/**
 * The producer's own settings ({@code lcckpt.*}). Every other key is handed to the Kafka producer unchanged
 * ({@code bootstrap.servers}, {@code security.protocol}, {@code sasl.*}, {@code ssl.*}, {@code client.id}, …).
 */
public final class ProducerSettings extends AbstractConfig {
    public static final String JOB_CONFIG = "lcckpt.job";
    private static final String JOB_DOC = "The training job: names its topics (<prefix>.<job>.*); letters, digits, '_' and '-'.";

    public static final String TOPIC_PREFIX_CONFIG = "lcckpt.topic.prefix";
    private static final String TOPIC_PREFIX_DOC = "Prefix of every topic name.";
    public static final String TOPIC_PREFIX_DEFAULT = "lcckpt";

    public static final String CHUNK_VALUES_CONFIG = "lcckpt.chunk.values";
    private static final String CHUNK_VALUES_DOC = "Values per chunk: the unit of coding and of Kafka records. 131072 float32 values"
            + " make a 512 KiB record, under the broker's default 1 MB limit.";
    public static final int CHUNK_VALUES_DEFAULT = 131_072;

    public static final String BUFFER_MEMORY_CONFIG = "lcckpt.buffer.memory";
    private static final String BUFFER_MEMORY_DOC = "Bytes of raw values published but not yet committed before publish() blocks"
            + " (back-pressure; one step is always admitted). Steps waiting when a transaction starts share it.";
    public static final long BUFFER_MEMORY_DEFAULT = 64L << 20;

    public static final String GENERATION_CONFIG = "lcckpt.generation";
    private static final String GENERATION_DOC = "Generation of the chain this producer starts; -1 (default) takes the current time in"
            + " milliseconds, so a restarted trainer's generation is newer than the crashed one's.";

    public static final String CREATE_TOPICS_CONFIG = "lcckpt.create.topics";
    private static final String CREATE_TOPICS_DOC = "Create the job's topics with their configs (compacted checkpoints) if missing.";

    public static final String TOPIC_PARTITIONS_CONFIG = "lcckpt.topic.partitions";
    private static final String TOPIC_PARTITIONS_DOC = "Partitions of a created raw-delta topic: the encoder's parallelism for the job.";

    public static final String TOPIC_REPLICATION_CONFIG = "lcckpt.topic.replication.factor";
    private static final String TOPIC_REPLICATION_DOC = "Replication factor of created topics (-1: the broker's default).";

    /** Prefix of topic configs for a created checkpoint topic, e.g. {@code lcckpt.checkpoint.topic.segment.ms}. */
    public static final String CHECKPOINT_TOPIC_PREFIX = "lcckpt.checkpoint.topic.";

    static final ConfigDef CONFIG = new ConfigDef()
            .define(JOB_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(), Importance.HIGH, JOB_DOC)
            .define(TOPIC_PREFIX_CONFIG, Type.STRING, TOPIC_PREFIX_DEFAULT, new ConfigDef.NonEmptyString(), Importance.MEDIUM, TOPIC_PREFIX_DOC)
            .define(CHUNK_VALUES_CONFIG, Type.INT, CHUNK_VALUES_DEFAULT, ConfigDef.Range.between(1, 1 << 24), Importance.MEDIUM, CHUNK_VALUES_DOC)
            .define(BUFFER_MEMORY_CONFIG, Type.LONG, BUFFER_MEMORY_DEFAULT, ConfigDef.Range.atLeast(1024), Importance.MEDIUM, BUFFER_MEMORY_DOC)
            .define(GENERATION_CONFIG, Type.LONG, -1L, ConfigDef.Range.atLeast(-1), Importance.LOW, GENERATION_DOC)
            .define(CREATE_TOPICS_CONFIG, Type.BOOLEAN, true, Importance.LOW, CREATE_TOPICS_DOC)
            .define(TOPIC_PARTITIONS_CONFIG, Type.INT, 4, ConfigDef.Range.atLeast(1), Importance.LOW, TOPIC_PARTITIONS_DOC)
            .define(TOPIC_REPLICATION_CONFIG, Type.SHORT, (short) -1, Importance.LOW, TOPIC_REPLICATION_DOC);

    public ProducerSettings(Map<String, ?> originals) {
        super(CONFIG, originals, false);
    }

    public static ConfigDef configDef() {
        return CONFIG;
    }

    /** Everything that is not {@code lcckpt.*}: the Kafka client's settings, passed through unchanged. */
    public Map<String, Object> kafkaSettings() {
        Map<String, Object> kafka = new HashMap<>();
        originals().forEach((key, value) -> {
            if (!key.startsWith("lcckpt.")) {
                kafka.put(key, value);
            }
        });
        return kafka;
    }
}
