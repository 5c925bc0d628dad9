package io.lccheckpoint.schema.kafka;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;

/**
 * The settings the producer, the encoder and the restorer must agree on, defined once: the topic prefix, and the codec
 * options of a chain (a trainer that codes its own chunks and the encoder must code alike; the encoder refuses chunks
 * coded otherwise). Each component's {@code ConfigDef} takes them from here, so their names, defaults, validators and
 * docs cannot drift apart.
 */
public final class SharedSettings {
    public static final String TOPIC_PREFIX_CONFIG = "lcckpt.topic.prefix";
    private static final String TOPIC_PREFIX_DOC = "Prefix of every topic name; the producers, the encoder and the restorer of a job use the same.";

    public static final String CODEC_PROMOTION_BITS_CONFIG = "lcckpt.codec.promotion.bits";
    private static final String CODEC_PROMOTION_BITS_DOC = "x of priority promotion: keep the 2^x - 1 buckets of largest exponent. The encoder"
            + " and a producer coding its own chunks (split=trainer/auto) must agree: the encoder refuses chunks coded otherwise.";
    public static final int CODEC_PROMOTION_BITS_DEFAULT = 2;

    public static final String CODEC_ENTROPY_CONFIG = "lcckpt.codec.entropy";
    private static final String CODEC_ENTROPY_DOC = "HUFFMAN (the paper) or ZERO_RUN (the smaller of zero-run and Huffman per chunk). The"
            + " encoder and a producer coding its own chunks must agree.";
    public static final String CODEC_ENTROPY_DEFAULT = "ZERO_RUN";

    private SharedSettings() {
    }

    /** Adds {@code lcckpt.topic.prefix}. */
    public static ConfigDef defineTopicPrefix(ConfigDef definition) {
        return definition.define(TOPIC_PREFIX_CONFIG, Type.STRING, Topics.DEFAULT_PREFIX, new ConfigDef.NonEmptyString(), Importance.MEDIUM,
                TOPIC_PREFIX_DOC);
    }

    /** Adds {@code lcckpt.codec.promotion.bits} and {@code lcckpt.codec.entropy}. */
    public static ConfigDef defineCodecOptions(ConfigDef definition) {
        return definition
                .define(CODEC_PROMOTION_BITS_CONFIG, Type.INT, CODEC_PROMOTION_BITS_DEFAULT, ConfigDef.Range.between(1, 8), Importance.HIGH,
                        CODEC_PROMOTION_BITS_DOC)
                .define(CODEC_ENTROPY_CONFIG, Type.STRING, CODEC_ENTROPY_DEFAULT, ConfigDef.ValidString.in("HUFFMAN", "ZERO_RUN"), Importance.MEDIUM,
                        CODEC_ENTROPY_DOC);
    }
}
