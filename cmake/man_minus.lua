-- Pandoc Lua filter for the man pages (docs/man/*.md, run by cmake/manpages.cmake).
--
-- A hyphen in what a reader types (inline code, code blocks, bold options and commands, italic file names) becomes
-- roff's \-, the escape man pages use for the hyphen-minus that a shell needs; a hyphen in prose stays a hyphen.
-- Pandoc 2.17's man writer writes every hyphen as a plain "-", which groff may render as a typographic hyphen
-- (U+2010) that breaks a command copied from the page (Debian's groff maps it back to ASCII, not every groff
-- does). A lone "-" (NAME's "deliveryd - ...") becomes \- too, as whatis(1) expects.
--
-- The rest of the escaping stays pandoc's own: the element is written with pandoc's man writer (pandoc.write,
-- pandoc 2.17 and later) with a private-use character in place of each hyphen, which comes out as \[uE000] and is
-- then replaced by \-.

local stand_in = utf8.char(0xE000)

--- The man writer's text for `blocks`, each stand-in hyphen turned into \-, without the final line break.
local function roff(blocks)
  local text = pandoc.write(pandoc.Pandoc(blocks), 'man')
  text = text:gsub('\\%[uE000%]', '\\-')
  return (text:gsub('\n+$', ''))
end

--- `text` with each hyphen replaced by the stand-in, or nil when it has none.
local function marked(text)
  if not text:find('-', 1, true) then
    return nil
  end
  return (text:gsub('%-', stand_in))
end

--- A hyphen-minus in a typed word: Str elements inside Strong (options, commands) or Emph (file names).
local function typed_word(str)
  local text = marked(str.text)
  if text then
    return pandoc.RawInline('man', roff({pandoc.Plain({pandoc.Str(text)})}))
  end
end

function Str(str)
  if str.text == '-' then
    return pandoc.RawInline('man', '\\-')
  end
end

function Code(code)
  local text = marked(code.text)
  if text then
    return pandoc.RawInline('man', roff({pandoc.Plain({pandoc.Code(text)})}))
  end
end

function CodeBlock(block)
  local text = marked(block.text)
  if text then
    return pandoc.RawBlock('man', roff({pandoc.CodeBlock(text)}))
  end
end

function Strong(strong)
  return pandoc.walk_inline(strong, {Str = typed_word})
end

function Emph(emph)
  return pandoc.walk_inline(emph, {Str = typed_word})
end
