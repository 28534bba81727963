// Completion scripts for bash, zsh and fish. All three share one design:
// small lookup functions generated from the command tree (subcommands of a
// path, flags of a path, how a flag's value completes) and a fixed walker
// that finds the command path typed so far, skipping flag values.
#include <fmt/format.h>

#include "cli/docs.h"

namespace axon::cli {
namespace {

// How a flag's or positional's value completes: "choice A B", "file",
// "dir", "any"; "" for a flag that takes no value.
std::string value_kind(bool takes_value, const std::vector<std::string>& choices, ValueHint hint) {
  if (!takes_value) return "";
  if (!choices.empty()) {
    std::string s = "choice";
    for (const auto& c : choices) s += " " + c;
    return s;
  }
  if (hint == ValueHint::file) return "file";
  if (hint == ValueHint::directory) return "dir";
  return "any";
}

std::string value_kind(const FlagSpec& f) {
  return value_kind(f.takes_value, f.choices.empty() ? f.suggestions : f.choices, f.hint);
}

std::string positional_kind(const CommandSpec& c) {
  if (c.positionals.empty()) return "";
  const auto& p = c.positionals.front();
  return value_kind(true, p.choices.empty() ? p.suggestions : p.choices, p.hint);
}

// 'text' for POSIX shells (bash, zsh).
std::string sq(const std::string& s) {
  std::string out = "'";
  for (char ch : s) {
    if (ch == '\'') {
      out += "'\\''";
    } else {
      out += ch;
    }
  }
  return out + "'";
}

// 'text' for fish, where \ and ' are escaped inside single quotes.
std::string fish_sq(const std::string& s) {
  std::string out = "'";
  for (char ch : s) {
    if (ch == '\'' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "'";
}

std::string join_names(const std::vector<CommandSpec>& children) {
  std::string out;
  for (const auto& c : children) out += (out.empty() ? "" : " ") + c.name;
  return out;
}

std::string first_sentence(const std::string& s) {
  auto pos = s.find(". ");
  return pos == std::string::npos ? s : s.substr(0, pos);
}

// __axon_value and __axon_args, the same for bash and zsh (both accept
// "(pattern)" case arms and printf).
std::string value_lookups(const std::vector<const CommandSpec*>& all) {
  std::string s =
      "# __axon_value PATH FLAG: how FLAG's value completes (\"choice V...\", file, dir,\n"
      "# any); nothing when FLAG takes no value.\n"
      "__axon_value() {\n  case \"$1|$2\" in\n";
  for (const auto* c : all) {
    for (const auto& f : c->all_flags()) {
      auto kind = value_kind(f);
      if (kind.empty()) continue;
      std::string pats;
      for (const auto& sp : f.spellings()) {
        pats += (pats.empty() ? "" : "|") + sq(c->path_string() + "|" + sp);
      }
      s += fmt::format("    ({}) printf '%s\\n' {} ;;\n", pats, sq(kind));
    }
  }
  s += "  esac\n}\n\n";
  s += "# __axon_args PATH: how the positional arguments of the command at PATH complete.\n";
  s += "__axon_args() {\n  case $1 in\n";
  for (const auto* c : all) {
    auto kind = positional_kind(*c);
    if (!kind.empty()) {
      s += fmt::format("    ({}) printf '%s\\n' {} ;;\n", sq(c->path_string()), sq(kind));
    }
  }
  return s + "  esac\n}\n";
}

constexpr const char* kBashWalker = R"BASH(
__axon_reply() {  # KIND CUR
  case $1 in
    choice\ *) COMPREPLY=($(compgen -W "${1#choice }" -- "$2")) ;;
    file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$2")) ;;
    dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$2")) ;;
    *) COMPREPLY=() ;;
  esac
}

_axon() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local path='' w kind flag='' subs i=1
  COMPREPLY=()
  # Walk the words before the cursor: descend into subcommands, skip flag values.
  while (( i < COMP_CWORD )); do
    w=${COMP_WORDS[i]}
    if [[ $w == -* ]]; then
      if [[ ${COMP_WORDS[i+1]} == '=' ]]; then
        (( i += 3 )); continue
      elif [[ -n $(__axon_value "$path" "$w") ]]; then
        (( i += 2 )); continue
      fi
    elif [[ " $(__axon_subcommands "$path") " == *" $w "* ]]; then
      path=${path:+$path }$w
    fi
    (( i++ ))
  done
  # A flag's value: "--flag VALUE" or "--flag=VALUE" (bash splits words at '=').
  if [[ $cur == '=' && $prev == -* ]]; then
    flag=$prev cur=''
  elif [[ $prev == '=' ]] && (( COMP_CWORD >= 2 )); then
    flag=${COMP_WORDS[COMP_CWORD-2]}
  elif [[ $prev == -* ]]; then
    flag=$prev
  fi
  if [[ -n $flag ]]; then
    kind=$(__axon_value "$path" "$flag")
    if [[ -n $kind ]]; then
      __axon_reply "$kind" "$cur"
      return 0
    fi
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(__axon_flags "$path")" -- "$cur"))
    return 0
  fi
  subs=$(__axon_subcommands "$path")
  if [[ -n $subs ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    return 0
  fi
  kind=$(__axon_args "$path")
  [[ -n $kind ]] && __axon_reply "$kind" "$cur"
  return 0
}

complete -F _axon axon
)BASH";

constexpr const char* kZshWalker = R"ZSH(
__axon_reply() {  # KIND
  local -a vals
  case $1 in
    (choice\ *) vals=(${=${1#choice }}); compadd -a vals ;;
    (file) _files ;;
    (dir) _files -/ ;;
  esac
}

_axon() {
  local cur=${words[CURRENT]} prev=${words[CURRENT-1]} path='' w kind
  local -i i=2
  local -a list names
  # Walk the words before the cursor: descend into subcommands, skip flag values.
  while (( i < CURRENT )); do
    w=${words[i]}
    if [[ $w == -* ]]; then
      if [[ $w != *=* && -n $(__axon_value "$path" "$w") ]]; then
        (( i += 2 )); continue
      fi
    else
      list=(${(f)"$(__axon_subcommands "$path")"})
      names=(${list%%:*})
      if (( ${names[(Ie)$w]} )); then
        path=${path:+$path }$w
      fi
    fi
    (( i++ ))
  done
  # A flag's value: "--flag=VALUE" or "--flag VALUE".
  if [[ $cur == -*=* ]]; then
    kind=$(__axon_value "$path" "${cur%%=*}")
    if [[ -n $kind ]]; then
      compset -P '*='
      __axon_reply "$kind"
      return
    fi
  fi
  if [[ $prev == -* ]]; then
    kind=$(__axon_value "$path" "$prev")
    if [[ -n $kind ]]; then
      __axon_reply "$kind"
      return
    fi
  fi
  if [[ $cur == -* ]]; then
    list=(${(f)"$(__axon_flags "$path")"})
    _describe -t flags 'flag' list
    return
  fi
  list=(${(f)"$(__axon_subcommands "$path")"})
  if (( $#list )); then
    _describe -t commands 'axon command' list
    return
  fi
  kind=$(__axon_args "$path")
  [[ -n $kind ]] && __axon_reply "$kind"
}

if [[ $funcstack[1] == _axon ]]; then
  _axon "$@"
else
  compdef _axon axon
fi
)ZSH";

constexpr const char* kFishWalker = R"FISH(
# The command path typed so far ("" for axon itself, "connectivity test"...).
function __axon_path
    set -l words (commandline -opc)
    set -l path ''
    set -l i 2
    while test $i -le (count $words)
        set -l w $words[$i]
        if string match -q -- '-*' $w
            if not string match -q -- '*=*' $w; and __axon_takes_value "$path" $w
                set i (math $i + 2)
                continue
            end
        else if __axon_is_subcommand "$path" $w
            if test -z "$path"
                set path $w
            else
                set path "$path $w"
            end
        end
        set i (math $i + 1)
    end
    echo $path
end

function __axon_at --argument-names want
    set -l p (__axon_path)
    test "$p" = "$want"
end

complete -c axon -f
)FISH";

}  // namespace

std::string bash_completion(const CommandSpec& root) {
  auto all = flatten(root);
  std::string s =
      "# bash completion for axon                                -*- shell-script -*-\n"
      "#\n"
      "# Generated by `axon completion bash` from axon's command definitions; do not edit.\n"
      "# Use: source <(axon completion bash), or install as\n"
      "#      /usr/share/bash-completion/completions/axon\n\n";

  s += "# __axon_subcommands PATH: subcommands of the command at PATH ('' is axon).\n";
  s += "__axon_subcommands() {\n  case $1 in\n";
  for (const auto* c : all) {
    if (!c->children.empty())
      s += fmt::format("    {}) echo {} ;;\n", sq(c->path_string()), sq(join_names(c->children)));
  }
  s += "  esac\n}\n\n";

  s += "# __axon_flags PATH: every flag spelling the command at PATH accepts.\n";
  s += "__axon_flags() {\n  case $1 in\n";
  for (const auto* c : all) {
    std::string names;
    for (const auto& f : c->all_flags()) {
      for (const auto& sp : f.spellings()) names += (names.empty() ? "" : " ") + sp;
    }
    s += fmt::format("    {}) echo {} ;;\n", sq(c->path_string()), sq(names));
  }
  s += "  esac\n}\n\n";

  s += value_lookups(all);
  s += kBashWalker;
  return s;
}

std::string zsh_completion(const CommandSpec& root) {
  auto all = flatten(root);
  std::string s =
      "#compdef axon\n"
      "# zsh completion for axon.\n"
      "#\n"
      "# Generated by `axon completion zsh` from axon's command definitions; do not edit.\n"
      "# Use: source <(axon completion zsh) after compinit, or install as _axon in a\n"
      "#      directory of $fpath.\n\n";

  s += "# __axon_subcommands PATH: 'name:summary' lines for the subcommands at PATH.\n";
  s += "__axon_subcommands() {\n  case $1 in\n";
  for (const auto* c : all) {
    if (c->children.empty()) continue;
    s += fmt::format("    ({}) print -rl --", sq(c->path_string()));
    for (const auto& ch : c->children) s += " " + sq(ch.name + ":" + ch.summary);
    s += " ;;\n";
  }
  s += "  esac\n}\n\n";

  s += "# __axon_flags PATH: 'spelling:description' lines for the flags at PATH.\n";
  s += "__axon_flags() {\n  case $1 in\n";
  for (const auto* c : all) {
    s += fmt::format("    ({}) print -rl --", sq(c->path_string()));
    for (const auto& f : c->all_flags()) {
      for (const auto& sp : f.spellings()) s += " " + sq(sp + ":" + first_sentence(f.description));
    }
    s += " ;;\n";
  }
  s += "  esac\n}\n\n";

  s += value_lookups(all);
  s += kZshWalker;
  return s;
}

std::string fish_completion(const CommandSpec& root) {
  auto all = flatten(root);
  std::string s =
      "# fish completion for axon.\n"
      "#\n"
      "# Generated by `axon completion fish` from axon's command definitions; do not edit.\n"
      "# Use: axon completion fish | source, or install as\n"
      "#      ~/.config/fish/completions/axon.fish\n\n";

  s += "function __axon_is_subcommand --argument-names path word\n    switch \"$path|$word\"\n";
  std::string cases;
  for (const auto* c : all) {
    for (const auto& ch : c->children) cases += " " + fish_sq(c->path_string() + "|" + ch.name);
  }
  s += "        case" + cases + "\n            return 0\n    end\n    return 1\nend\n\n";

  s += "function __axon_takes_value --argument-names path flag\n    switch \"$path|$flag\"\n";
  cases.clear();
  for (const auto* c : all) {
    for (const auto& f : c->all_flags()) {
      if (!f.takes_value) continue;
      for (const auto& sp : f.spellings()) cases += " " + fish_sq(c->path_string() + "|" + sp);
    }
  }
  s += "        case" + cases + "\n            return 0\n    end\n    return 1\nend\n";
  s += kFishWalker;

  for (const auto* c : all) {
    std::string cond = fish_sq("__axon_at " + fmt::format("\"{}\"", c->path_string()));
    s += fmt::format("\n# {}\n", c->full_name());
    for (const auto& ch : c->children) {
      s += fmt::format("complete -c axon -n {} -a {} -d {}\n", cond, fish_sq(ch.name),
                       fish_sq(ch.summary));
    }
    for (const auto& f : c->all_flags()) {
      std::string line = "complete -c axon -n " + cond;
      for (const auto& sn : f.short_names) line += " -s " + sn;
      for (const auto& ln : f.long_names) line += " -l " + ln;
      auto kind = value_kind(f);
      if (kind.starts_with("choice ")) {
        line += " -x -a " + fish_sq(kind.substr(7));
      } else if (kind == "file" || kind == "dir") {
        line += " -r -F";
      } else if (kind == "any") {
        line += " -x";
      }
      line += " -d " + fish_sq(first_sentence(f.description));
      s += line + "\n";
    }
    auto pkind = positional_kind(*c);
    if (pkind.starts_with("choice ")) {
      s += fmt::format("complete -c axon -n {} -x -a {}\n", cond, fish_sq(pkind.substr(7)));
    } else if (pkind == "file" || pkind == "dir") {
      s += fmt::format("complete -c axon -n {} -F\n", cond);
    }
  }
  return s;
}

std::string completion_file_name(const std::string& shell) {
  if (shell == "zsh") return "_axon";
  if (shell == "fish") return "axon.fish";
  return "axon.bash";
}

std::string completion_script(const CommandSpec& root, const std::string& shell) {
  if (shell == "zsh") return zsh_completion(root);
  if (shell == "fish") return fish_completion(root);
  return bash_completion(root);
}

}  // namespace axon::cli
