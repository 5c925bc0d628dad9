package io.lccheckpoint.producer.internals;

import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.producer.TensorCoding;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The producer's {@code lcckpt.codec.tensor.options}: groups of tensors with their own codec options, for example
 * {@code *.exp_avg*=bits=3;*.exp_avg_sq=bits=4,entropy=huffman;*.running_*=exact}. Entries are separated by {@code ;};
 * each is a glob over tensor names ({@code *} any run of characters, {@code ?} one), {@code =}, and {@code exact} or
 * options as {@link CodecOptions#parse} reads them, missing keys taken from the job's {@code lcckpt.codec.*}. The first entry
 * whose glob matches the whole name wins; a tensor no entry matches is coded with the job's options.
 */
public final class TensorCodecRules {
    private record Rule(String glob, Pattern pattern, TensorCoding coding) {
    }

    private final List<Rule> rules;

    private TensorCodecRules(List<Rule> rules) {
        this.rules = rules;
    }

    /** @throws IllegalArgumentException naming the entry that is wrong */
    public static TensorCodecRules parse(String text, CodecOptions defaults) {
        List<Rule> rules = new ArrayList<>();
        for (String entry : text.split(";")) {
            if (entry.isBlank()) {
                continue;
            }
            int equals = entry.indexOf('=');
            if (equals <= 0) {
                throw new IllegalArgumentException("lcckpt.codec.tensor.options: '" + entry.trim() + "' is not <glob>=<options>, e.g. *.exp_avg*=bits=3");
            }
            String glob = entry.substring(0, equals).trim();
            TensorCoding coding = TensorCoding.parse(entry.substring(equals + 1), defaults);
            rules.add(new Rule(glob, Pattern.compile(regex(glob)), coding));
        }
        return new TensorCodecRules(List.copyOf(rules));
    }

    /** The coding of the first entry matching {@code tensor}, or null (the job's options). */
    public TensorCoding forTensor(String tensor) {
        for (Rule rule : rules) {
            if (rule.pattern.matcher(tensor).matches()) {
                return rule.coding;
            }
        }
        return null;
    }

    private static String regex(String glob) {
        StringBuilder regex = new StringBuilder();
        for (char c : glob.toCharArray()) {
            switch (c) {
                case '*' -> regex.append(".*");
                case '?' -> regex.append('.');
                default -> regex.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return regex.toString();
    }
}
