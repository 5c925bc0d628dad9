package io.lccheckpoint.restorer;

import io.lccheckpoint.schema.kafka.SharedSettings;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;

/**
 * The restorer's own settings ({@code lcckpt.*}), defined as the producer's and the encoder's are: a bad value is a
 * {@link org.apache.kafka.common.config.ConfigException} naming the setting. Every other key (except the wire format's)
 * goes to the Kafka consumer unchanged ({@code bootstrap.servers}, {@code security.protocol}, {@code sasl.*},
 * {@code ssl.*}, {@code client.id}, …).
 */
public final class RestorerSettings extends AbstractConfig {
    /** Shared with the producers and the encoder ({@link SharedSettings}). */
    public static final String TOPIC_PREFIX_CONFIG = SharedSettings.TOPIC_PREFIX_CONFIG;

    public static final String PUSHDOWN_CONFIG = "lcckpt.restore.pushdown";
    private static final String PUSHDOWN_DOC = "Seek to the base superstep through the index topic (false: read the whole checkpoint topic).";

    public static final String SEEK_MARGIN_MS_CONFIG = "lcckpt.restore.seek.margin.ms";
    private static final String SEEK_MARGIN_MS_DOC = "How much earlier than the superstep's first record the seek starts (clocks of encoder"
            + " hosts, trainers and brokers may disagree).";

    public static final String THREADS_CONFIG = "lcckpt.restore.threads";
    private static final String THREADS_DOC = "Chunks rebuilt at once (0: one per core). The restored values, the step's digest and the"
            + " first error reported do not depend on it.";

    static final ConfigDef CONFIG = SharedSettings.defineTopicPrefix(new ConfigDef())
            .define(PUSHDOWN_CONFIG, Type.BOOLEAN, true, Importance.LOW, PUSHDOWN_DOC)
            .define(SEEK_MARGIN_MS_CONFIG, Type.LONG, 1000L, ConfigDef.Range.atLeast(0), Importance.LOW, SEEK_MARGIN_MS_DOC)
            .define(THREADS_CONFIG, Type.INT, 0, ConfigDef.Range.atLeast(0), Importance.LOW, THREADS_DOC);

    public RestorerSettings(Map<String, ?> originals) {
        super(CONFIG, originals, false);
    }

    public static ConfigDef configDef() {
        return CONFIG;
    }

    int threads() {
        int threads = getInt(THREADS_CONFIG);
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }

    /** Everything that is neither {@code lcckpt.*} nor a wire-format setting: the consumer's settings, unchanged. */
    Map<String, Object> kafkaSettings() {
        Map<String, Object> kafka = new HashMap<>();
        originals().forEach((key, value) -> {
            if (!key.startsWith("lcckpt.") && !WireFormat.isWireFormatSetting(key)) {
                kafka.put(key, value);
            }
        });
        return kafka;
    }
}
